//! Attachment rules shared by the web form, e-mail and staff intake.
//!
//! The allow-list follows the Government portal's form (DOMAIN §4: JPG, PDF,
//! DOC, DOCX, XLS, XLSX) plus PNG. The type is decided from the bytes, never
//! from the name or the client's `Content-Type`, so a renamed executable or
//! an HTML file calling itself `scan.pdf` is refused.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    Pdf,
    Doc,
    Docx,
    Xls,
    Xlsx,
    Jpg,
    Png,
}

impl AttachmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Pdf => "pdf",
            AttachmentKind::Doc => "doc",
            AttachmentKind::Docx => "docx",
            AttachmentKind::Xls => "xls",
            AttachmentKind::Xlsx => "xlsx",
            AttachmentKind::Jpg => "jpg",
            AttachmentKind::Png => "png",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "pdf" => AttachmentKind::Pdf,
            "doc" => AttachmentKind::Doc,
            "docx" => AttachmentKind::Docx,
            "xls" => AttachmentKind::Xls,
            "xlsx" => AttachmentKind::Xlsx,
            "jpg" | "jpeg" => AttachmentKind::Jpg,
            "png" => AttachmentKind::Png,
            _ => return None,
        })
    }

    pub fn media_type(self) -> &'static str {
        match self {
            AttachmentKind::Pdf => "application/pdf",
            AttachmentKind::Doc => "application/msword",
            AttachmentKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            AttachmentKind::Xls => "application/vnd.ms-excel",
            AttachmentKind::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            AttachmentKind::Jpg => "image/jpeg",
            AttachmentKind::Png => "image/png",
        }
    }

    /// Recognises the file from its content. Legacy Office files (doc, xls)
    /// share one container format (OLE2/CFB); `infer` tells them apart by the
    /// stream names inside.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        let t = infer::get(bytes)?;
        Some(match t.mime_type() {
            "application/pdf" => AttachmentKind::Pdf,
            "application/msword" => AttachmentKind::Doc,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
                AttachmentKind::Docx
            }
            "application/vnd.ms-excel" => AttachmentKind::Xls,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
                AttachmentKind::Xlsx
            }
            "image/jpeg" => AttachmentKind::Jpg,
            "image/png" => AttachmentKind::Png,
            _ => return None,
        })
    }
}

/// A client-supplied file name made safe to store and show: NFC, no path,
/// no control characters, bounded length; a generic name if nothing is left.
pub fn safe_file_name(raw: Option<&str>, kind: AttachmentKind) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = super::text::clean_line(base)
        .chars()
        .filter(|c| !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*'))
        .take(120)
        .collect();
    let cleaned = cleaned.trim_matches(['.', ' ']).to_string();
    if cleaned.is_empty() {
        format!("tep-dinh-kem.{}", kind.as_str())
    } else {
        with_extension_of(&cleaned, kind)
    }
}

/// `name` ending in `kind`'s extension: a name that says otherwise
/// (`scan.html` on PNG bytes) would make a browser or a desktop open the
/// file as what it is not. A name's own extension is kept when it is one
/// of the kind's (`.jpeg` for JPEG); a trailing part that is no extension
/// (`Công văn số 12.2024`) stays in the name.
pub fn with_extension_of(name: &str, kind: AttachmentKind) -> String {
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=5).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
                && ext.chars().any(|c| c.is_ascii_alphabetic()) =>
        {
            (stem, Some(ext))
        }
        _ => (name, None),
    };
    match extension {
        Some(ext) if AttachmentKind::parse(ext) == Some(kind) => name.to_string(),
        _ => format!("{stem}.{}", kind.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_bytes_not_names() {
        assert_eq!(
            AttachmentKind::sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
            Some(AttachmentKind::Pdf)
        );
        assert_eq!(
            AttachmentKind::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(AttachmentKind::Png)
        );
        assert_eq!(
            AttachmentKind::sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0"),
            Some(AttachmentKind::Jpg)
        );
        assert_eq!(
            AttachmentKind::sniff(b"<html><script>alert(1)</script>"),
            None
        );
        assert_eq!(AttachmentKind::sniff(b"MZ\x90\0\x03\0\0\0"), None);
    }

    #[test]
    fn file_names_lose_paths_and_tricks() {
        assert_eq!(
            safe_file_name(Some("C:\\Users\\a\\đơn thư.pdf"), AttachmentKind::Pdf),
            "đơn thư.pdf"
        );
        assert_eq!(
            safe_file_name(Some("../../etc/passwd"), AttachmentKind::Pdf),
            "passwd.pdf"
        );
        assert_eq!(
            safe_file_name(Some("..."), AttachmentKind::Png),
            "tep-dinh-kem.png"
        );
        assert_eq!(
            safe_file_name(None, AttachmentKind::Jpg),
            "tep-dinh-kem.jpg"
        );
        assert_eq!(
            safe_file_name(Some("a\u{202E}gpj.exe"), AttachmentKind::Jpg),
            "agpj.jpg"
        );
    }

    #[test]
    fn a_name_carries_the_extension_of_what_the_file_is() {
        let cases = [
            ("scan.html", AttachmentKind::Png, "scan.png"),
            (
                "ảnh hiện trường.JPEG",
                AttachmentKind::Jpg,
                "ảnh hiện trường.JPEG",
            ),
            ("don.pdf", AttachmentKind::Pdf, "don.pdf"),
            ("bao-cao.xls", AttachmentKind::Xlsx, "bao-cao.xlsx"),
            (
                "Công văn số 12.2024",
                AttachmentKind::Pdf,
                "Công văn số 12.2024.pdf",
            ),
            ("khong-duoi", AttachmentKind::Docx, "khong-duoi.docx"),
            ("a.tar.gz", AttachmentKind::Pdf, "a.tar.pdf"),
        ];
        for (name, kind, expected) in cases {
            assert_eq!(safe_file_name(Some(name), kind), expected, "{name}");
        }
    }
}
