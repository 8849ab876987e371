//! An inbound e-mail read into what the channel needs, from raw
//! RFC 5322 bytes, whatever way it came in (IMAP, the MTA pipe, the push
//! endpoint). Pure: no I/O; mail-parser does the MIME work (charsets
//! including windows-1258, RFC 2047 words, RFC 2231 file names) and every
//! decoded string is stored NFC, because windows-1258 mail arrives
//! decomposed (base letter + combining tone mark).

use std::sync::LazyLock;

use mail_parser::{Message, MessageParser, MimeHeaders};
use regex::Regex;

use super::digest::sha256_hex;
use super::text::{clean_line, clean_multiline};

/// The largest message the channel reads; bigger ones are quarantined
/// (the web form's own limits are far below this).
pub const MAX_MESSAGE_BYTES: usize = 40 * 1024 * 1024;

/// A sender or recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Display name, NFC, possibly empty.
    pub name: String,
    /// Address, lower-cased.
    pub address: String,
}

/// A file attached to the message, before the web form's rules are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundFile {
    pub file_name: Option<String>,
    pub content: Vec<u8>,
}

/// Why a message is treated as sent by a machine (RFC 3834 and common
/// practice): it never creates an item and never gets an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Automatic {
    /// `Auto-Submitted` other than `no` (RFC 3834).
    AutoSubmitted,
    /// `X-Autoreply`, `X-Autorespond` (common vacation responders).
    AutoReplyHeader,
    /// `Precedence: bulk | junk | list | auto_reply`.
    Precedence,
    /// A mailing list (`List-Id`, `List-Unsubscribe`).
    MailingList,
    /// An out-of-office subject in Vietnamese or English.
    OutOfOfficeSubject,
    /// From `mailer-daemon`, `postmaster`, `noreply` and the like.
    MachineSender,
}

impl Automatic {
    pub fn as_str(self) -> &'static str {
        match self {
            Automatic::AutoSubmitted => "auto_submitted",
            Automatic::AutoReplyHeader => "auto_reply_header",
            Automatic::Precedence => "precedence",
            Automatic::MailingList => "mailing_list",
            Automatic::OutOfOfficeSubject => "out_of_office_subject",
            Automatic::MachineSender => "machine_sender",
        }
    }
}

/// A delivery-status notification (RFC 3464, `multipart/report`): one of
/// our messages did not reach `recipients`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bounce {
    /// The Message-ID of the message that bounced, when the report quotes it.
    pub original_message_id: Option<String>,
    pub recipients: Vec<String>,
    /// `5.x.x` (permanent) rather than `4.x.x` (delayed).
    pub permanent: bool,
}

/// What the channel reads from one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Who wrote: the only address that identifies a person.
    pub from: Option<Mailbox>,
    /// Where the sender wants answers; never taken as their identity.
    pub reply_to: Option<Mailbox>,
    /// Every `To`/`Cc`/`Delivered-To` address (a per-item reply address
    /// may be any of them).
    pub recipients: Vec<String>,
    pub subject: String,
    /// The text: the plain part, or the HTML part with every tag removed.
    pub text: String,
    pub attachments: Vec<InboundFile>,
    pub automatic: Option<Automatic>,
    pub bounce: Option<Bounce>,
    /// SHA-256 of the raw bytes (evidence; deduplication with the
    /// Message-ID).
    pub sha256: String,
}

/// Why a message cannot be read; it is quarantined for staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("the message is empty")]
    Empty,
    #[error("the message is larger than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("the message has no headers mail can be read from")]
    NotMail,
}

/// Reads `raw`; never panics, whatever the bytes.
pub fn parse(raw: &[u8]) -> Result<InboundMessage, Unreadable> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Unreadable::Empty);
    }
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(Unreadable::TooLarge);
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(Unreadable::NotMail)?;
    // Something that is not mail at all parses as a body without headers.
    if message.headers().is_empty() {
        return Err(Unreadable::NotMail);
    }
    let from = message.from().and_then(|a| a.first()).and_then(mailbox);
    let reply_to = message.reply_to().and_then(|a| a.first()).and_then(mailbox);
    let mut recipients: Vec<String> = message
        .to()
        .into_iter()
        .chain(message.cc())
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .map(str::to_ascii_lowercase)
        .collect();
    for value in message.header_values("Delivered-To") {
        if let Some(text) = value.as_text() {
            recipients.push(text.trim().trim_matches(['<', '>']).to_ascii_lowercase());
        }
    }
    recipients.dedup();
    let subject = clean_line(&repair_mislabelled(message.subject().unwrap_or_default()));
    let text = body_text(&message);
    let bounce = bounce(&message);
    let automatic = automatic(&message, &subject, from.as_ref());
    let attachments = if bounce.is_some() {
        // A report's parts are the bounced message, not evidence.
        Vec::new()
    } else {
        message
            .attachments()
            .filter(|part| !part.is_message())
            .map(|part| InboundFile {
                file_name: part.attachment_name().map(clean_line),
                content: part.contents().to_vec(),
            })
            .collect()
    };
    Ok(InboundMessage {
        message_id: message.message_id().and_then(message_id),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        from,
        reply_to,
        recipients,
        subject,
        text,
        attachments,
        automatic,
        bounce,
        sha256: sha256_hex(raw),
    })
}

fn mailbox(addr: &mail_parser::Addr<'_>) -> Option<Mailbox> {
    let address = addr.address()?.trim().to_ascii_lowercase();
    if !address.contains('@') {
        return None;
    }
    Some(Mailbox {
        name: clean_line(&repair_mislabelled(
            addr.name().unwrap_or_default().trim_matches(['"', '\'']),
        )),
        address,
    })
}

/// The longest Message-ID taken from a stranger's mail: with its angle
/// brackets it fits four times on one 998-character header line.
pub const MAX_MESSAGE_ID_CHARS: usize = 240;

/// A Message-ID as RFC 5322 §3.6.4 writes it (`id-left "@" id-right`,
/// dot-atoms or a domain literal), of a sane length; anything else from
/// inbound mail is dropped before it can reach a header we send.
pub fn is_valid_message_id(id: &str) -> bool {
    fn atext(c: char) -> bool {
        c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)
    }
    if id.len() < 3 || id.len() > MAX_MESSAGE_ID_CHARS {
        return false;
    }
    let Some((left, right)) = id.rsplit_once('@') else {
        return false;
    };
    let dot_atom = |s: &str| {
        !s.is_empty()
            && s.chars().all(atext)
            && !s.starts_with('.')
            && !s.ends_with('.')
            && !s.contains("..")
    };
    let literal = |s: &str| {
        s.len() > 2
            && s.starts_with('[')
            && s.ends_with(']')
            && s[1..s.len() - 1]
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '[' | ']' | '\\'))
    };
    dot_atom(left) && (dot_atom(right) || literal(right))
}

/// A Message-ID without its angle brackets, if it is a valid one.
fn message_id(raw: &str) -> Option<String> {
    let id = raw.trim().trim_matches(['<', '>']);
    is_valid_message_id(id).then(|| id.to_string())
}

fn ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Text(t) => vec![message_id(t)],
        mail_parser::HeaderValue::TextList(list) => list.iter().map(|t| message_id(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .flatten()
    // A stranger's References can be any length: the newest ones matter.
    .rev()
    .take(20)
    .collect::<Vec<_>>()
    .into_iter()
    .rev()
    .collect()
}

fn body_text(message: &Message<'_>) -> String {
    let plain = message
        .text_part(0)
        .filter(|p| !p.is_content_type("text", "html"));
    if let Some(part) = plain {
        let text = utf8_if_mislabelled(message, part)
            .or_else(|| part.text_contents().map(str::to_string))
            .unwrap_or_default();
        if !text.trim().is_empty() {
            return clean_multiline(&text);
        }
    }
    if let Some(part) = message.html_part(0) {
        let html = utf8_if_mislabelled(message, part)
            .or_else(|| part.text_contents().map(str::to_string))
            .unwrap_or_default();
        return clean_multiline(&html_to_text(&html));
    }
    clean_multiline(&message.body_text(0).unwrap_or_default())
}

/// A text part labelled Latin-1, Windows-1252, ASCII or nothing whose
/// bytes are in fact well-formed UTF-8 with non-ASCII text: mail clients
/// mislabel Vietnamese this way, and decoding it as labelled turns `ả` into
/// `áº£` (and loses the bytes Windows-1252 leaves undefined).
fn utf8_if_mislabelled(
    message: &Message<'_>,
    part: &mail_parser::MessagePart<'_>,
) -> Option<String> {
    let charset = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .unwrap_or("us-ascii")
        .to_ascii_lowercase();
    let latin = [
        "us-ascii",
        "ascii",
        "iso-8859-1",
        "iso8859-1",
        "latin1",
        "latin-1",
        "windows-1252",
        "cp1252",
    ];
    if !latin.contains(&charset.as_str()) {
        return None;
    }
    let start = usize::try_from(part.offset_body).ok()?;
    let end = usize::try_from(part.offset_end).ok()?;
    let raw = message.raw_message().get(start..end)?;
    let bytes = match part.encoding {
        mail_parser::Encoding::None => raw.to_vec(),
        mail_parser::Encoding::QuotedPrintable => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(raw)?
        }
        mail_parser::Encoding::Base64 => mail_parser::decoders::base64::base64_decode(raw)?,
    };
    String::from_utf8(bytes).ok().filter(|t| !t.is_ascii())
}

/// A header word that was UTF-8 but decoded as Latin-1/Windows-1252
/// (`Pháº£n`): when every character maps back to one byte and those bytes
/// are well-formed UTF-8 with multi-byte sequences, the UTF-8 reading is
/// the one the sender wrote. Genuine Latin-1 text almost never forms such
/// sequences.
pub fn repair_mislabelled(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii() {
        return text.into();
    }
    let bytes: Option<Vec<u8>> = text.chars().map(latin_byte).collect();
    match bytes.map(String::from_utf8) {
        Some(Ok(utf8)) if !utf8.is_ascii() => utf8.into(),
        _ => text.into(),
    }
}

/// The byte Windows-1252 (a superset of Latin-1) decodes to `c`.
fn latin_byte(c: char) -> Option<u8> {
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    u8::try_from(u32::from(c))
        .ok()
        .or_else(|| HIGH.iter().find(|(h, _)| *h == c).map(|(_, b)| *b))
}

static DROPPED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)<(script|style|head|title|template|noscript)\b[^>]*>.*?</\s*(script|style|head|title|template|noscript)\s*>|<!--.*?-->")
        .unwrap_or_else(|_| unreachable_regex())
});
static BREAKS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<\s*(br|/p|/div|/li|/tr|/h[1-6]|/blockquote|/table)\b[^>]*>")
        .unwrap_or_else(|_| unreachable_regex())
});
static TAGS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<[^>]*>").unwrap_or_else(|_| unreachable_regex()));
static ENTITIES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
        .unwrap_or_else(|_| unreachable_regex())
});

/// A pattern that never matches, should a constant pattern ever fail to
/// compile (it cannot: they are tested).
fn unreachable_regex() -> Regex {
    Regex::new(r"[^\s\S]").expect("an empty character class compiles")
}

/// The text of an HTML body: scripts, styles and comments removed with
/// their content, every other tag removed, line breaks kept, entities
/// decoded. Nothing of the markup survives to be rendered anywhere.
pub fn html_to_text(html: &str) -> String {
    let without = DROPPED.replace_all(html, "");
    let broken = BREAKS.replace_all(&without, "\n");
    let bare = TAGS.replace_all(&broken, "");
    // Any `<` left is text (a stray one), kept as the character it is.
    let decoded = ENTITIES.replace_all(&bare, |caps: &regex::Captures<'_>| {
        let entity = &caps[1];
        let c = if let Some(hex) = entity
            .strip_prefix("#x")
            .or_else(|| entity.strip_prefix("#X"))
        {
            u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
        } else if let Some(dec) = entity.strip_prefix('#') {
            dec.parse().ok().and_then(char::from_u32)
        } else {
            match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => None,
            }
        };
        c.filter(|c| !c.is_control() || *c == '\n')
            .map_or_else(|| caps[0].to_string(), |c| c.to_string())
    });
    // Collapse the blank lines markup leaves behind.
    let mut out = String::with_capacity(decoded.len());
    let mut blank = 0;
    for line in decoded.lines() {
        let line = line.trim();
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string()
}

static OUT_OF_OFFICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(auto(matic)?[ -]?(reply|response)|out of (the )?office|vacation|away from|abwesenheit|trả lời tự động|phản hồi tự động|thư trả lời tự động|vắng mặt|nghỉ phép|không có mặt tại văn phòng)",
    )
    .unwrap_or_else(|_| unreachable_regex())
});

/// Local parts of addresses that only machines send from.
const MACHINE_LOCAL_PARTS: [&str; 9] = [
    "mailer-daemon",
    "postmaster",
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
    "bounce",
    "bounces",
    "autoreply",
];

/// Whether mail to `address` could only reach a machine: we never answer
/// such an address (no loops).
pub fn is_machine_address(address: &str) -> bool {
    let local = address
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let local = local.split('+').next().unwrap_or_default();
    MACHINE_LOCAL_PARTS
        .iter()
        .any(|m| local == *m || local.starts_with(&format!("{m}-")))
}

fn header_text<'a>(message: &'a Message<'a>, name: &'a str) -> Option<&'a str> {
    message.header_raw(name).map(str::trim)
}

fn automatic(message: &Message<'_>, subject: &str, from: Option<&Mailbox>) -> Option<Automatic> {
    if header_text(message, "Auto-Submitted").is_some_and(|v| !v.eq_ignore_ascii_case("no")) {
        return Some(Automatic::AutoSubmitted);
    }
    if header_text(message, "X-Autoreply").is_some()
        || header_text(message, "X-Autorespond").is_some()
        || header_text(message, "X-Auto-Response-Suppress")
            .is_some_and(|v| v.eq_ignore_ascii_case("all") || v.contains("OOF"))
    {
        return Some(Automatic::AutoReplyHeader);
    }
    if header_text(message, "Precedence").is_some_and(|v| {
        ["bulk", "junk", "list", "auto_reply"]
            .iter()
            .any(|p| v.eq_ignore_ascii_case(p))
    }) {
        return Some(Automatic::Precedence);
    }
    if header_text(message, "List-Id").is_some()
        || header_text(message, "List-Unsubscribe").is_some()
    {
        return Some(Automatic::MailingList);
    }
    if OUT_OF_OFFICE.is_match(subject) {
        return Some(Automatic::OutOfOfficeSubject);
    }
    if from.is_some_and(|f| is_machine_address(&f.address)) {
        return Some(Automatic::MachineSender);
    }
    None
}

static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^Status:\s*([245])\.\d{1,3}\.\d{1,3}").unwrap_or_else(|_| unreachable_regex())
});
static FINAL_RECIPIENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^(?:Final|Original)-Recipient:\s*rfc822;\s*<?([^\s>]+@[^\s>]+)>?")
        .unwrap_or_else(|_| unreachable_regex())
});
static QUOTED_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^Message-ID:\s*<([^>\s]+)>").unwrap_or_else(|_| unreachable_regex())
});

fn bounce(message: &Message<'_>) -> Option<Bounce> {
    let report = message.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_none_or(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    if !report {
        return None;
    }
    let mut out = Bounce::default();
    for part in message.parts.iter() {
        let is_status = part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("delivery-status"))
        });
        let is_original = part.content_type().is_some_and(|ct| {
            (ct.ctype().eq_ignore_ascii_case("message")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("rfc822")))
                || (ct.ctype().eq_ignore_ascii_case("text")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers")))
        });
        if is_status {
            let body = String::from_utf8_lossy(part.contents());
            for caps in FINAL_RECIPIENT.captures_iter(&body) {
                let r = caps[1].to_ascii_lowercase();
                if !out.recipients.contains(&r) {
                    out.recipients.push(r);
                }
            }
            out.permanent |= STATUS.captures_iter(&body).any(|c| &c[1] == "5");
        }
        if is_original && out.original_message_id.is_none() {
            out.original_message_id = match part.message() {
                Some(inner) => inner.message_id().and_then(message_id),
                None => QUOTED_ID
                    .captures(&String::from_utf8_lossy(part.contents()))
                    .and_then(|c| message_id(&c[1])),
            };
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text_without_any_markup() {
        let html = "<html><head><title>t</title><style>p{color:red}</style></head><body>\
            <p>Kính gửi <b>Văn phòng</b>,</p><script>alert('x')</script><!-- c -->\
            <div>Đường &amp; cầu &lt;hỏng&gt;&nbsp;&#273;&#x1EBF;n</div><br>Trân trọng</body></html>";
        let text = html_to_text(html);
        assert_eq!(
            text,
            "Kính gửi Văn phòng,\nĐường & cầu <hỏng> đến\n\nTrân trọng"
        );
        assert!(!text.contains("alert"));
        assert!(!text.contains("color"));
    }

    #[test]
    fn machine_addresses_are_recognised() {
        for a in [
            "MAILER-DAEMON@mx.example.vn",
            "noreply@dichvucong.gov.vn",
            "no-reply+abc@example.com",
            "bounces-123@list.example",
        ] {
            assert!(is_machine_address(a), "{a}");
        }
        for a in ["nguyen.van.an@gmail.com", "replyman@example.vn"] {
            assert!(!is_machine_address(a), "{a}");
        }
    }

    fn corpus(name: &str) -> InboundMessage {
        let path = format!("{}/tests/data/mail/{name}", env!("CARGO_MANIFEST_DIR"));
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        parse(&raw).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn utf8_mail_with_encoded_words_and_an_rfc2231_file_name() {
        let m = corpus("utf8_rfc2231.eml");
        assert_eq!(m.subject, "Phản ánh thủ tục cấp giấy phép xây dựng");
        let from = m.from.clone().unwrap_or_else(|| panic!("no From"));
        assert_eq!(from.name, "Nguyễn Văn An");
        assert_eq!(from.address, "nguyen.van.an@example.vn");
        assert_eq!(m.message_id.as_deref(), Some("utf8-plain-1@example.vn"));
        assert!(m.text.contains("quá hạn 15 ngày"));
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(
            m.attachments[0].file_name.as_deref(),
            Some("giấy biên nhận.pdf")
        );
        assert!(m.attachments[0].content.starts_with(b"%PDF"));
        assert_eq!(m.automatic, None);
        assert_eq!(m.bounce, None);
        assert_eq!(m.recipients, ["gopy@danang.gov.vn"]);
    }

    #[test]
    fn windows_1258_with_combining_tone_marks_is_stored_nfc() {
        use unicode_normalization::UnicodeNormalization;
        let m = corpus("windows1258_nfd.eml");
        let nfc = |s: &str| s.nfc().collect::<String>();
        assert_eq!(m.subject, nfc("Kiến nghị về phí đường bộ"));
        assert_eq!(m.subject, "Kiến nghị về phí đường bộ");
        assert!(
            m.text.contains("Đề nghị sửa quy định về phí đường bộ."),
            "{}",
            m.text
        );
        assert_eq!(m.text, nfc(&m.text), "stored NFC");
        assert_eq!(m.from.map(|f| f.name).as_deref(), Some("Trần Thị Bình"));
    }

    #[test]
    fn utf8_labelled_latin1_is_read_as_utf8() {
        let m = corpus("latin1_mislabelled.eml");
        assert_eq!(m.text, "Phản ánh về việc chậm trả kết quả hồ sơ đất đai.");
        // Headers too, through Windows-1252's own characters; real
        // Latin-1 stays what it is.
        assert_eq!(repair_mislabelled("viá»‡c"), "việc");
        assert_eq!(repair_mislabelled("café crème"), "café crème");
    }

    #[test]
    fn html_only_mail_is_read_as_text() {
        let m = corpus("html_only.eml");
        assert_eq!(m.subject, "Góp ý về giờ làm việc bộ phận một cửa");
        assert!(m.text.starts_with("Kính gửi Văn phòng,"), "{}", m.text);
        assert!(m.text.contains("đóng cửa sớm hơn giờ niêm yết"));
        for markup in ["<", "alert", "color", "pixel"] {
            assert!(!m.text.contains(markup), "{markup} in {}", m.text);
        }
    }

    #[test]
    fn automatic_mail_is_recognised() {
        assert_eq!(
            corpus("auto_reply.eml").automatic,
            Some(Automatic::AutoSubmitted)
        );
        assert_eq!(
            corpus("out_of_office.eml").automatic,
            Some(Automatic::OutOfOfficeSubject)
        );
        assert_eq!(corpus("reply.eml").automatic, None);
    }

    #[test]
    fn a_delivery_report_names_the_bounced_message_and_address() {
        let m = corpus("bounce_dsn.eml");
        let b = m.bounce.unwrap_or_else(|| panic!("not a report"));
        assert_eq!(b.recipients, ["khongtontai@example.vn"]);
        assert!(b.permanent);
        assert_eq!(
            b.original_message_id.as_deref(),
            Some("notice-42@pakn.danang.gov.vn")
        );
        assert!(m.attachments.is_empty());
    }

    #[test]
    fn a_reply_keeps_its_thread() {
        let m = corpus("reply.eml");
        assert_eq!(m.in_reply_to, ["notice-7@pakn.danang.gov.vn"]);
        assert_eq!(
            m.references,
            ["utf8-plain-1@example.vn", "notice-7@pakn.danang.gov.vn"]
        );
        assert_eq!(
            m.recipients,
            ["gopy+pakn.48.20261122.0001-abcd2345@danang.gov.vn"]
        );
        assert!(m.subject.contains("PAKN.48.20261122.0001"));
    }

    #[test]
    fn only_well_formed_message_ids_are_kept() {
        for good in [
            "utf8-plain-1@example.vn",
            "pakn.0193a1b2@danang.gov.vn",
            "a.b+c@[192.0.2.1]",
        ] {
            assert!(is_valid_message_id(good), "{good}");
        }
        let long = format!("{}@example.vn", "a".repeat(300));
        for bad in [
            "",
            "no-at-sign",
            "@example.vn",
            "a@",
            "a b@example.vn",
            "a@exa mple.vn",
            "x\"y@example.vn",
            "trước@example.vn",
            "a@@b",
            ".a@b",
            long.as_str(),
        ] {
            assert!(!is_valid_message_id(bad), "{bad}");
        }
        let raw = format!(
            "From: a@example.vn\r\nTo: b@example.vn\r\nSubject: x\r\nMessage-ID: <{long}>\r\nIn-Reply-To: <ok-1@example.vn>\r\nReferences: <ok-0@example.vn> <bad id@x> <{long}> <ok-1@example.vn>\r\n\r\nbody"
        );
        let m = parse(raw.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.message_id, None);
        assert_eq!(m.in_reply_to, ["ok-1@example.vn"]);
        assert_eq!(m.references, ["ok-0@example.vn", "ok-1@example.vn"]);
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        assert_eq!(parse(b""), Err(Unreadable::Empty));
        assert_eq!(parse(b"   \r\n"), Err(Unreadable::Empty));
        for junk in [
            &b"\x00\x01\x02\xff\xfe"[..],
            b"no headers at all",
            b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x--",
        ] {
            let _ = parse(junk);
        }
    }
}
