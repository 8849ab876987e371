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
        cleaned
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
            "passwd"
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
            "agpj.exe"
        );
    }
}
