//! The handling workflow as a state machine (DOMAIN §6.3): which action
//! moves an item from which state to which, and who may take it. Pure: the
//! service layer loads the item, asks here, and writes the result with its
//! audit event. Overdue is derived from deadlines, never a state.

use super::feedback::FeedbackState;
use super::staff::{Involvement, Role};

/// What staff (or the citizen, or the system) do to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Judge the item against Decree 20: kind, content category, field,
    /// the regulation or procedure concerned.
    Classify,
    /// Ask the submitter to complete the item (the clock pauses).
    RequestInfo,
    /// The submitter (or staff on their behalf) completed it.
    Supplement,
    /// Not accepted, with a reason code (DOMAIN §5).
    Reject,
    /// Send to the competent agency (ND 20 as amended: within 05 WD).
    Forward,
    /// Take the item up: the receiving office itself (from `classified`)
    /// or the agency it was forwarded to.
    Accept,
    /// "Not ours": the agency sends it back for re-routing, with a reason.
    Return,
    /// Draft (or redraft) the answer.
    Answer,
    /// The agency's lead signs the answer off; it goes to review.
    SignOff,
    /// The control office approves the answer; it goes to the citizen
    /// (QĐ 31/2021 Điều 46).
    Approve,
    /// The control office returns the answer for revision, with a reason.
    SendBack,
    /// Publish the redacted question and the answer.
    Publish,
    /// Answered but not published, with a reason.
    Withhold,
    /// Take a published item off the public pages (audited).
    Unpublish,
    /// End the case.
    Close,
    /// Join a duplicate to the primary item of its cluster; the primary's
    /// answer then goes to this item's submitter too.
    Merge,
    /// The lead agency asks another agency for its contribution, with a
    /// sub-deadline (DOMAIN §6.3: DANG_XU_LY → DANG_XU_LY).
    RequestCoordination,
    /// The lead agency no longer needs that contribution.
    WithdrawCoordination,
    /// A coordinating agency gives (or revises) its contribution.
    Contribute,
    /// The control office takes a forwarded item back (sent to the wrong
    /// agency, an agency without staff here, one that does not act).
    Recall,
}

impl Action {
    pub const ALL: [Action; 20] = [
        Action::Classify,
        Action::RequestInfo,
        Action::Supplement,
        Action::Reject,
        Action::Forward,
        Action::Accept,
        Action::Return,
        Action::Answer,
        Action::SignOff,
        Action::Approve,
        Action::SendBack,
        Action::Publish,
        Action::Withhold,
        Action::Unpublish,
        Action::Close,
        Action::Merge,
        Action::RequestCoordination,
        Action::WithdrawCoordination,
        Action::Contribute,
        Action::Recall,
    ];

    /// The path segment and audit name (`request-info`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Classify => "classify",
            Action::RequestInfo => "request-info",
            Action::Supplement => "supplement",
            Action::Reject => "reject",
            Action::Forward => "forward",
            Action::Accept => "accept",
            Action::Return => "return",
            Action::Answer => "answer",
            Action::SignOff => "sign-off",
            Action::Approve => "approve",
            Action::SendBack => "send-back",
            Action::Publish => "publish",
            Action::Withhold => "withhold",
            Action::Unpublish => "unpublish",
            Action::Close => "close",
            Action::Merge => "merge",
            Action::RequestCoordination => "request-coordination",
            Action::WithdrawCoordination => "withdraw-coordination",
            Action::Contribute => "contribute",
            Action::Recall => "recall",
        }
    }
}

/// The state an action leads to from `from`, or `None` when the machine
/// has no such transition.
pub fn next_state(from: FeedbackState, action: Action) -> Option<FeedbackState> {
    use Action as A;
    use FeedbackState as S;
    Some(match (from, action) {
        (S::Received, A::Classify) => S::Classified,
        // Reclassifying before routing is allowed (a correction).
        (S::Classified, A::Classify) => S::Classified,
        (S::Received | S::Classified, A::RequestInfo) => S::AwaitingInformation,
        (S::AwaitingInformation, A::Supplement) => S::Received,
        // The submitter adds to an item already under way (a second call
        // about the same matter): the information joins it, nothing moves.
        (
            S::Received | S::Classified | S::Forwarded | S::InHandling | S::AnswerUnderReview,
            A::Supplement,
        ) => from,
        (S::Received | S::Classified | S::AwaitingInformation, A::Reject) => S::NotAccepted,
        (S::Classified, A::Forward) => S::Forwarded,
        (S::Classified | S::Forwarded, A::Accept) => S::InHandling,
        (S::Forwarded | S::InHandling, A::Return | A::Recall) => S::Classified,
        // Drafting keeps the item with the agency; sign-off sends it on.
        (S::InHandling, A::Answer) => S::InHandling,
        // Coordination happens while the lead agency prepares the answer.
        (S::InHandling, A::RequestCoordination | A::WithdrawCoordination | A::Contribute) => {
            S::InHandling
        }
        (S::InHandling, A::SignOff) => S::AnswerUnderReview,
        (S::AnswerUnderReview, A::Approve) => S::Answered,
        (S::AnswerUnderReview, A::SendBack) => S::InHandling,
        // The agency's lead sends a draft back to its writer before
        // signing it off.
        (S::InHandling, A::SendBack) => S::InHandling,
        (S::Answered, A::Publish) => S::Published,
        (S::Answered, A::Withhold) => S::Withheld,
        (S::Published, A::Unpublish) => S::Answered,
        // Publication outlives the case: a closed item that was published
        // stays public until it is unpublished (the service checks that it
        // is public).
        (S::Closed, A::Unpublish) => S::Closed,
        (S::Answered | S::Published | S::Withheld, A::Close) => S::Closed,
        // Any item still being worked on can join a duplicate cluster.
        (
            S::Received
            | S::AwaitingInformation
            | S::Classified
            | S::Forwarded
            | S::InHandling
            | S::AnswerUnderReview,
            A::Merge,
        ) => S::Merged,
        _ => return None,
    })
}

/// What, besides its state, decides whether an action can be taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemFacts {
    /// The item is on the public pages now (publication outlives the
    /// case: a closed item can still be public).
    pub public: bool,
}

/// The state `action` leads to from `from` for an item with `facts`:
/// the machine, and what publication adds to it (only a public item can
/// be taken off the public pages).
pub fn possible(from: FeedbackState, action: Action, facts: ItemFacts) -> Option<FeedbackState> {
    next_state(from, action).filter(|_| action != Action::Unpublish || facts.public)
}

/// The optional four-eyes rule (a setting, off by default: Decree 20 does
/// not require it): whoever drafted the answer may not approve it.
pub fn separation_refuses(
    action: Action,
    four_eyes: bool,
    actor: uuid::Uuid,
    drafted_by: Option<uuid::Uuid>,
) -> bool {
    four_eyes && action == Action::Approve && drafted_by == Some(actor)
}

/// Every action `role` may take now on an item in `from`, as its agency
/// stands to it: what the console offers and the API accepts, from the
/// one machine and the one role table.
pub fn available(
    from: FeedbackState,
    role: Role,
    involvement: Involvement,
    facts: ItemFacts,
) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| possible(from, *a, facts).is_some() && may_take(*a, from, role, involvement))
        .collect()
}

/// Whether `role` may take `action` on an item in state `from`, given
/// how the actor's agency stands to the item. The receiving office
/// (control office) triages, reviews and publishes; the holding agency
/// takes up, returns, drafts, asks for coordination, and its lead signs
/// off; a coordinating agency only contributes.
pub fn may_take(action: Action, from: FeedbackState, role: Role, involvement: Involvement) -> bool {
    use Action as A;
    let control = role == Role::ControlOffice;
    let agency_staff = matches!(role, Role::AgencyOfficer | Role::AgencyLead) || control;
    let holds = involvement == Involvement::Handling;
    match action {
        A::Classify
        | A::RequestInfo
        | A::Supplement
        | A::Reject
        | A::Forward
        | A::Approve
        | A::Publish
        | A::Withhold
        | A::Unpublish
        | A::Close
        | A::Merge
        | A::Recall => control,
        // From `classified` the receiving office takes the item up
        // itself; from `forwarded` only the agency it was sent to.
        A::Accept => match from {
            FeedbackState::Classified => control,
            _ => agency_staff && holds,
        },
        A::Return | A::Answer | A::RequestCoordination | A::WithdrawCoordination => {
            agency_staff && holds
        }
        A::SignOff => holds && matches!(role, Role::AgencyLead | Role::ControlOffice),
        // The control office sends an answer under review back; the
        // agency's lead sends a draft back before signing it off.
        A::SendBack => match from {
            FeedbackState::AnswerUnderReview => control,
            _ => holds && role == Role::AgencyLead,
        },
        A::Contribute => {
            involvement == Involvement::Coordinating
                && matches!(role, Role::AgencyOfficer | Role::AgencyLead)
        }
    }
}

/// Whether `role` takes `action` in any state on an item its agency
/// holds or coordinates: a role that never does gets a plain refusal
/// (403) without the item being looked at.
pub fn role_may_ever(action: Action, role: Role) -> bool {
    [
        FeedbackState::Received,
        FeedbackState::AwaitingInformation,
        FeedbackState::Classified,
        FeedbackState::Forwarded,
        FeedbackState::InHandling,
        FeedbackState::AnswerUnderReview,
        FeedbackState::Answered,
        FeedbackState::Published,
        FeedbackState::Withheld,
    ]
    .into_iter()
    .any(|s| {
        next_state(s, action).is_some()
            && [Involvement::Handling, Involvement::Coordinating]
                .into_iter()
                .any(|i| may_take(action, s, role, i))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use FeedbackState as S;

    const STATES: [FeedbackState; 12] = [
        S::Received,
        S::AwaitingInformation,
        S::Classified,
        S::Forwarded,
        S::InHandling,
        S::AnswerUnderReview,
        S::Answered,
        S::Published,
        S::Withheld,
        S::Closed,
        S::NotAccepted,
        S::Merged,
    ];

    /// The machine, written out once more by hand: every pair not listed
    /// here must be refused.
    const ALLOWED: &[(FeedbackState, Action, FeedbackState)] = &[
        (S::Received, Action::Classify, S::Classified),
        (S::Classified, Action::Classify, S::Classified),
        (S::Received, Action::RequestInfo, S::AwaitingInformation),
        (S::Classified, Action::RequestInfo, S::AwaitingInformation),
        (S::AwaitingInformation, Action::Supplement, S::Received),
        (S::Received, Action::Supplement, S::Received),
        (S::Classified, Action::Supplement, S::Classified),
        (S::Forwarded, Action::Supplement, S::Forwarded),
        (S::InHandling, Action::Supplement, S::InHandling),
        (
            S::AnswerUnderReview,
            Action::Supplement,
            S::AnswerUnderReview,
        ),
        (S::Received, Action::Reject, S::NotAccepted),
        (S::Classified, Action::Reject, S::NotAccepted),
        (S::AwaitingInformation, Action::Reject, S::NotAccepted),
        (S::Classified, Action::Forward, S::Forwarded),
        (S::Classified, Action::Accept, S::InHandling),
        (S::Forwarded, Action::Accept, S::InHandling),
        (S::Forwarded, Action::Return, S::Classified),
        (S::InHandling, Action::Return, S::Classified),
        (S::Forwarded, Action::Recall, S::Classified),
        (S::InHandling, Action::Recall, S::Classified),
        (S::InHandling, Action::Answer, S::InHandling),
        (S::InHandling, Action::RequestCoordination, S::InHandling),
        (S::InHandling, Action::WithdrawCoordination, S::InHandling),
        (S::InHandling, Action::Contribute, S::InHandling),
        (S::InHandling, Action::SignOff, S::AnswerUnderReview),
        (S::AnswerUnderReview, Action::Approve, S::Answered),
        (S::AnswerUnderReview, Action::SendBack, S::InHandling),
        (S::InHandling, Action::SendBack, S::InHandling),
        (S::Answered, Action::Publish, S::Published),
        (S::Answered, Action::Withhold, S::Withheld),
        (S::Published, Action::Unpublish, S::Answered),
        (S::Closed, Action::Unpublish, S::Closed),
        (S::Answered, Action::Close, S::Closed),
        (S::Published, Action::Close, S::Closed),
        (S::Withheld, Action::Close, S::Closed),
        (S::Received, Action::Merge, S::Merged),
        (S::AwaitingInformation, Action::Merge, S::Merged),
        (S::Classified, Action::Merge, S::Merged),
        (S::Forwarded, Action::Merge, S::Merged),
        (S::InHandling, Action::Merge, S::Merged),
        (S::AnswerUnderReview, Action::Merge, S::Merged),
    ];

    #[test]
    fn every_state_action_pair_not_in_the_machine_is_refused() {
        let mut allowed = 0;
        for from in STATES {
            for action in Action::ALL {
                let expected = ALLOWED
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                assert_eq!(
                    next_state(from, action),
                    expected,
                    "{from:?} --{action:?}-->"
                );
                allowed += usize::from(expected.is_some());
            }
        }
        assert_eq!(allowed, ALLOWED.len());
    }

    #[test]
    fn terminal_states_accept_nothing_but_taking_a_closed_item_off_the_public_pages() {
        for from in [S::Closed, S::NotAccepted, S::Merged] {
            for action in Action::ALL {
                let allowed = from == S::Closed && action == Action::Unpublish;
                assert_eq!(
                    next_state(from, action).is_some(),
                    allowed,
                    "{from:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn what_is_available_is_the_machine_and_the_role_table_together() {
        let public = ItemFacts { public: true };
        let private = ItemFacts::default();
        // The control office on a new item: triage.
        let triage = available(
            S::Received,
            Role::ControlOffice,
            Involvement::Overseeing,
            private,
        );
        for a in [
            Action::Classify,
            Action::RequestInfo,
            Action::Reject,
            Action::Merge,
            Action::Supplement,
        ] {
            assert!(triage.contains(&a), "{a:?}");
        }
        assert!(!triage.contains(&Action::Forward), "classified first");
        // An officer of the holding agency on a forwarded item.
        assert_eq!(
            available(
                S::Forwarded,
                Role::AgencyOfficer,
                Involvement::Handling,
                private
            ),
            vec![Action::Accept, Action::Return]
        );
        // A coordinating agency only contributes.
        assert_eq!(
            available(
                S::InHandling,
                Role::AgencyLead,
                Involvement::Coordinating,
                private
            ),
            vec![Action::Contribute]
        );
        // Auditors and administrators take no action.
        for role in [Role::Auditor, Role::Admin] {
            for state in STATES {
                assert!(available(state, role, Involvement::Overseeing, public).is_empty());
            }
        }
        // A closed item: only taking it off the public pages, if it is on them.
        assert_eq!(
            available(
                S::Closed,
                Role::ControlOffice,
                Involvement::Overseeing,
                public
            ),
            vec![Action::Unpublish]
        );
        assert!(
            available(
                S::Closed,
                Role::ControlOffice,
                Involvement::Overseeing,
                private
            )
            .is_empty()
        );
        // Whatever is available is a transition of the machine.
        for state in STATES {
            for role in Role::ALL {
                for involvement in [
                    Involvement::Handling,
                    Involvement::Coordinating,
                    Involvement::Overseeing,
                ] {
                    for action in available(state, role, involvement, public) {
                        assert!(next_state(state, action).is_some());
                        assert!(may_take(action, state, role, involvement));
                    }
                }
            }
        }
    }

    #[test]
    fn each_actor_does_their_part_only() {
        // Triage and review belong to the control office.
        for role in [
            Role::AgencyOfficer,
            Role::AgencyLead,
            Role::Auditor,
            Role::Admin,
        ] {
            for action in [
                Action::Classify,
                Action::Forward,
                Action::Reject,
                Action::Approve,
                Action::Publish,
            ] {
                assert!(
                    !may_take(action, S::Classified, role, Involvement::Handling),
                    "{role:?} {action:?}"
                );
            }
        }
        // The agency holding the item takes it up, drafts and returns it;
        // another agency cannot.
        assert!(may_take(
            Action::Accept,
            S::Forwarded,
            Role::AgencyOfficer,
            Involvement::Handling
        ));
        assert!(!may_take(
            Action::Accept,
            S::Forwarded,
            Role::AgencyOfficer,
            Involvement::Overseeing
        ));
        assert!(!may_take(
            Action::Accept,
            S::Forwarded,
            Role::ControlOffice,
            Involvement::Overseeing
        ));
        assert!(may_take(
            Action::Answer,
            S::InHandling,
            Role::AgencyOfficer,
            Involvement::Handling
        ));
        // Only a lead signs off.
        assert!(!may_take(
            Action::SignOff,
            S::InHandling,
            Role::AgencyOfficer,
            Involvement::Handling
        ));
        assert!(may_take(
            Action::SignOff,
            S::InHandling,
            Role::AgencyLead,
            Involvement::Handling
        ));
        assert!(!may_take(
            Action::SignOff,
            S::InHandling,
            Role::AgencyLead,
            Involvement::Overseeing
        ));
        // A coordinating agency contributes and does nothing else; the
        // lead agency asks, never contributes to its own item.
        for action in Action::ALL {
            for role in [Role::AgencyOfficer, Role::AgencyLead] {
                assert_eq!(
                    may_take(action, S::InHandling, role, Involvement::Coordinating),
                    action == Action::Contribute,
                    "{role:?} {action:?}"
                );
            }
        }
        assert!(!may_take(
            Action::Contribute,
            S::InHandling,
            Role::AgencyOfficer,
            Involvement::Handling
        ));
        assert!(may_take(
            Action::RequestCoordination,
            S::InHandling,
            Role::AgencyOfficer,
            Involvement::Handling
        ));
        // Auditors and admins take no action at all.
        for action in Action::ALL {
            for from in STATES {
                for involvement in [
                    Involvement::Handling,
                    Involvement::Coordinating,
                    Involvement::Overseeing,
                ] {
                    assert!(!may_take(action, from, Role::Auditor, involvement));
                    assert!(!may_take(action, from, Role::Admin, involvement));
                }
            }
        }
    }
}
