//! What every step reads of the secret, as the function reads it (`rotation/context.rs`): a
//! labelled value parsed, its user, the binding, the hand-edit check.

use iam_key_rotator::binding::{self, Binding};
use iam_key_rotator::holder::Holder;
use iam_key_rotator::secret_value::SecretValue;

use crate::view;
use crate::world::{Owner, State, CURRENT, PENDING};

pub type Decided = Result<(), &'static str>;

pub fn value(s: &State, label: u8) -> Option<Result<SecretValue, String>> {
    view::parsed(s.labelled(label)?.value)
}

pub fn user_of(value: &SecretValue) -> Result<Owner, &'static str> {
    let holder = Holder::of(value, None, view::SECRET_NAME, view::SECRET_ARN);
    let holder = holder.map_err(|_| "Permanent.NoUserName")?;
    Ok(Owner::of_name(&holder.user).unwrap_or(Owner::Other))
}

/// §15: the user's tag names this secret.
pub fn require_binding(s: &State, user: Owner) -> Decided {
    let tags = view::user_tags(s, user);
    match binding::binding_of(&tags, view::SECRET_ARN) {
        Binding::Bound => Ok(()),
        _ => Err("Permanent.UserNotBound"),
    }
}

/// refuse_a_hand_edit (§9): AWSCURRENT written after the rotation started, or the token's version
/// once current. Returns (started, current's CreatedDate).
pub fn hand_edit(s: &State, token: u8) -> Result<Option<(u32, u32)>, &'static str> {
    let edited = "Permanent.CurrentWrittenDuringRotation";
    let version = s.version(token).ok_or(edited)?;
    if version.labels & !PENDING != 0 {
        return Err(edited);
    }
    let Some(current) = s.labelled(CURRENT) else {
        return Ok(None);
    };
    if current.created <= version.created {
        Ok(Some((version.created, current.created)))
    } else {
        Err(edited)
    }
}
