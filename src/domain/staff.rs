//! Staff, their roles and what each role may do: the one place where
//! permissions are decided. Handlers ask [`Actor::may`]; none
//! decides on its own.

use serde::Serialize;

use super::ids::AgencyId;

/// The roles of the people who work the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Accounts, directory, calendar, settings.
    Admin,
    /// Phòng Kiểm soát TTHC of the Văn phòng UBND tỉnh: every item of the
    /// province (triage, route, review answers, publish).
    ControlOffice,
    /// Agency staff: items their agency handles.
    AgencyOfficer,
    /// What officers do, plus signing off the agency's answers.
    AgencyLead,
    /// Read-only, statistics.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::ControlOffice,
        Role::AgencyOfficer,
        Role::AgencyLead,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ControlOffice => "control_office",
            Role::AgencyOfficer => "agency_officer",
            Role::AgencyLead => "agency_lead",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Role::Admin => "Quản trị hệ thống",
            Role::ControlOffice => "Kiểm soát TTHC (Văn phòng UBND tỉnh)",
            Role::AgencyOfficer => "Chuyên viên cơ quan xử lý",
            Role::AgencyLead => "Lãnh đạo cơ quan xử lý",
            Role::Auditor => "Thanh tra, giám sát (chỉ xem)",
        }
    }
}

/// Things a staff member may ask to do. Every staff route names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See and end one's own session.
    OwnSession,
    /// Add, correct or remove days of the working-day calendar.
    EditCalendar,
    /// Create, list and disable staff accounts.
    ManageStaff,
    /// Change the directory: agencies, their successions in a
    /// reorganisation.
    ManageDirectory,
    /// Read the audit log of every change (who did what, when).
    ReadAuditLog,
    /// Key in an item that came by phone, letter, letter box, survey form
    /// or transfer.
    EnterFeedback,
    /// See the queue and items (scoped: see [`Actor::item_scope`]).
    ViewItems,
    /// Write internal notes on items one may see (never shown to
    /// citizens).
    AddNote,
    /// Read the inbound mail log and its raw messages (every e-mail to
    /// the published address, matched or not).
    ReadMailLog,
    /// Read the statistics (scoped: an agency's lead sees its own).
    ReadStatistics,
    /// Clear a delivery failure on a submitter's address (the citizen
    /// gave a working one by phone, the mailbox is full no more), so
    /// notices go to it again.
    ClearMailFailure,
    /// Read the agency's answer templates and insert one into a draft.
    UseAnswerTemplates,
    /// Keep the agency's answer templates (write, rename, delete).
    ManageAnswerTemplates,
    /// Write to the submitter of an item one holds or oversees (through
    /// the outbox, as every notice goes).
    MessageSubmitter,
    /// Handle a data subject's request: find every item and message of a
    /// person, export them for that person, erase or correct their
    /// contact data (each step audited with its reason).
    HandleSubjectRequests,
    /// Read who was shown whose contact data.
    ReadContactAccessLog,
    /// Keep the items' record in the national PAKN system: read the
    /// re-keying pack (with the senders' contact data) and enter the
    /// national code each item got there.
    KeepNationalRecord,
    /// Manage the publicity sources (posters, leaflets, banners) and read
    /// what each brought in.
    ManageSources,
}

impl Permission {
    pub const ALL: [Permission; 18] = [
        Permission::OwnSession,
        Permission::EditCalendar,
        Permission::ManageStaff,
        Permission::ManageDirectory,
        Permission::ReadAuditLog,
        Permission::EnterFeedback,
        Permission::ViewItems,
        Permission::AddNote,
        Permission::ReadMailLog,
        Permission::ReadStatistics,
        Permission::ClearMailFailure,
        Permission::UseAnswerTemplates,
        Permission::ManageAnswerTemplates,
        Permission::MessageSubmitter,
        Permission::HandleSubjectRequests,
        Permission::ReadContactAccessLog,
        Permission::KeepNationalRecord,
        Permission::ManageSources,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::OwnSession => "own_session",
            Permission::EditCalendar => "edit_calendar",
            Permission::ManageStaff => "manage_staff",
            Permission::ManageDirectory => "manage_directory",
            Permission::ReadAuditLog => "read_audit_log",
            Permission::EnterFeedback => "enter_feedback",
            Permission::ViewItems => "view_items",
            Permission::AddNote => "add_note",
            Permission::ReadMailLog => "read_mail_log",
            Permission::ReadStatistics => "read_statistics",
            Permission::ClearMailFailure => "clear_mail_failure",
            Permission::UseAnswerTemplates => "use_answer_templates",
            Permission::ManageAnswerTemplates => "manage_answer_templates",
            Permission::MessageSubmitter => "message_submitter",
            Permission::HandleSubjectRequests => "handle_subject_requests",
            Permission::ReadContactAccessLog => "read_contact_access_log",
            Permission::KeepNationalRecord => "keep_national_record",
            Permission::ManageSources => "manage_sources",
        }
    }

    /// The roles allowed. Least privilege: a permission not listed here
    /// for a role is denied.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Permission::OwnSession => &Role::ALL,
            Permission::EditCalendar | Permission::ManageStaff | Permission::ManageDirectory => {
                &[Role::Admin]
            }
            // Whoever receives calls and letters; not the administrator
            // (no access to items) nor the auditor (read-only).
            Permission::EnterFeedback
            | Permission::AddNote
            | Permission::ClearMailFailure
            | Permission::UseAnswerTemplates
            | Permission::MessageSubmitter => {
                &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead]
            }
            // The agency's lead signs answers off, so keeps the wording
            // they start from.
            Permission::ManageAnswerTemplates => &[Role::AgencyLead],
            // Administrators and auditors (supervision).
            Permission::ReadAuditLog | Permission::ReadContactAccessLog => {
                &[Role::Admin, Role::Auditor]
            }
            // The receiving office answers citizens about their data.
            Permission::HandleSubjectRequests => &[Role::ControlOffice],
            // QĐ 31/2021/QĐ-TTg Art. 43(2) puts re-keying on the receiving
            // office.
            Permission::KeepNationalRecord => &[Role::ControlOffice],
            Permission::ManageSources => &[Role::ControlOffice, Role::Admin],
            // The office that reads the published mailbox, and auditors.
            Permission::ReadMailLog => &[Role::ControlOffice, Role::Auditor],
            // Supervisors (auditors), the control office, and an agency's
            // lead for the agency's own figures (ND 20 Art. 22 reports).
            Permission::ReadStatistics => &[Role::ControlOffice, Role::AgencyLead, Role::Auditor],
            Permission::ViewItems => &[
                Role::ControlOffice,
                Role::AgencyOfficer,
                Role::AgencyLead,
                Role::Auditor,
            ],
        }
    }
}

/// What an integration's API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiScope {
    /// A portal pushing its form's submissions (exempt from the
    /// per-address rate limit: one portal speaks for many citizens).
    SubmitFeedback,
    /// A reporting tool reading counts and statistics (no personal data).
    ReadStatistics,
    /// A mail gateway pushing raw inbound e-mail to the published address.
    IngestEmail,
    /// An agency's system receiving webhooks about that agency's own
    /// items (more than the public projection, never contact data).
    AgencyWebhooks,
}

impl ApiScope {
    pub const ALL: [ApiScope; 4] = [
        ApiScope::SubmitFeedback,
        ApiScope::ReadStatistics,
        ApiScope::IngestEmail,
        ApiScope::AgencyWebhooks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::SubmitFeedback => "submit_feedback",
            ApiScope::ReadStatistics => "read_statistics",
            ApiScope::IngestEmail => "ingest_email",
            ApiScope::AgencyWebhooks => "agency_webhooks",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// An integration authenticated by its API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    pub name: String,
    pub scopes: Vec<ApiScope>,
}

impl ApiClient {
    pub fn may(&self, scope: ApiScope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// A signed-in staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub staff_id: uuid::Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub agency: AgencyId,
}

/// Which items a role sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemScope {
    /// Every item of the province this instance serves (the control
    /// office triages them all; auditors read them all).
    Province,
    /// Items the actor's own agency handles.
    OwnAgency(AgencyId),
    /// None (administrators manage the system, not items).
    Nothing,
}

/// The actor's agency's part in one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Involvement {
    /// Its agency holds the item (handling agency, or the receiving
    /// office handling it itself).
    Handling,
    /// Asked to contribute to another agency's answer: it sees the
    /// question and the evidence, not the submitter's contact details.
    Coordinating,
    /// A province-wide role (control office, auditor) on an item held
    /// elsewhere or not yet routed.
    Overseeing,
}

impl Actor {
    pub fn may(&self, permission: Permission) -> bool {
        permission.roles().contains(&self.role)
    }

    /// How the actor's agency stands to an item whose handling agency is
    /// `handling` (none until it is forwarded or taken up) and which the
    /// agencies in `coordinating` were asked to contribute to; `None`
    /// when the actor may not see it at all.
    pub fn involvement(
        &self,
        handling: Option<AgencyId>,
        coordinating: &[AgencyId],
    ) -> Option<Involvement> {
        let holds = handling == Some(self.agency);
        match self.item_scope() {
            ItemScope::Province if holds => Some(Involvement::Handling),
            ItemScope::Province => Some(Involvement::Overseeing),
            ItemScope::OwnAgency(_) if holds => Some(Involvement::Handling),
            ItemScope::OwnAgency(own) if coordinating.contains(&own) => {
                Some(Involvement::Coordinating)
            }
            ItemScope::OwnAgency(_) | ItemScope::Nothing => None,
        }
    }

    pub fn item_scope(&self) -> ItemScope {
        match self.role {
            Role::ControlOffice | Role::Auditor => ItemScope::Province,
            Role::AgencyOfficer | Role::AgencyLead => ItemScope::OwnAgency(self.agency),
            Role::Admin => ItemScope::Nothing,
        }
    }
}

/// `3–64` characters of `a–z 0–9 . _ -`, starting with a letter; stored
/// lower-case so `NguyenVanA` and `nguyenvana` are one account.
pub fn parse_username(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim().to_ascii_lowercase();
    let ok = (3..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(name)
    } else {
        Err("username must be 3–64 characters of a–z, 0–9, '.', '_' or '-', starting with a letter")
    }
}

/// A staff member's e-mail address: empty is none; otherwise one valid
/// address of at most 254 characters, stored lower-case.
pub fn parse_staff_email(raw: &str) -> Result<Option<String>, &'static str> {
    use validator::ValidateEmail;
    let address = raw.trim().to_lowercase();
    if address.is_empty() {
        return Ok(None);
    }
    if address.len() > 254 || !address.validate_email() {
        return Err("email_invalid");
    }
    Ok(Some(address))
}

/// The shortest and longest passwords accepted (long passphrases are
/// welcome; the upper bound keeps hashing cheap for attackers' inputs).
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_BYTES: usize = 256;

pub fn check_new_password(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err("password must be at least 12 characters");
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err("password must be at most 256 bytes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_addresses_are_one_valid_address_or_none() {
        assert_eq!(parse_staff_email("  "), Ok(None));
        assert_eq!(
            parse_staff_email(" Van.Thu@SoXD.example "),
            Ok(Some("van.thu@soxd.example".into()))
        );
        assert_eq!(parse_staff_email("a@b@c"), Err("email_invalid"));
        assert_eq!(parse_staff_email("no-at-sign"), Err("email_invalid"));
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(parse_staff_email(&long), Err("email_invalid"));
    }

    #[test]
    fn only_admins_edit_the_calendar_and_everyone_has_their_session() {
        for role in Role::ALL {
            assert!(Permission::OwnSession.roles().contains(&role));
            assert_eq!(
                Permission::EditCalendar.roles().contains(&role),
                role == Role::Admin
            );
        }
        for p in Permission::ALL {
            assert!(!p.roles().is_empty());
        }
    }

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(parse_username(" Nguyen.Van_A ").unwrap(), "nguyen.van_a");
        for bad in ["ab", "1abc", "nguyễn", "a b c", &"x".repeat(65)] {
            assert!(parse_username(bad).is_err(), "{bad}");
        }
        assert!(check_new_password("ngắn quá").is_err());
        assert!(check_new_password("một câu mật khẩu đủ dài").is_ok());
        assert!(check_new_password(&"x".repeat(300)).is_err());
    }
}
