//! What each mirror gets for the key now current (issue 23): nothing when it holds it already, a
//! write when it holds the previous key's value or nothing, a repair when someone wrote it by hand,
//! and the previous key may be acted on only when no mirror is refused.

use iam_key_rotator::key_text::TextFormat;
use iam_key_rotator::mirror::{
    all_hold, plan, render, Action, KeyPair, MirrorFormat, Observed, Refused,
};
use iam_key_rotator::sensitive::Sensitive;

const ID: &str = "AKIAI44QH8DHBEXAMPLE";
const OLD_ID: &str = "AKIAIOSFODNN7EXAMPLE";

fn pair<'a>(id: &'a str, secret: &'a Sensitive) -> KeyPair<'a> {
    KeyPair { id, secret }
}

#[test]
fn each_mirror_is_written_once_repaired_when_edited_and_left_when_it_holds_the_key() {
    let (new_secret, old_secret) = (
        Sensitive::new("je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"),
        Sensitive::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    );
    let dotenv = MirrorFormat::Text(TextFormat::Dotenv);
    let render_for = |format: &MirrorFormat, id: &str, secret: &Sensitive| {
        Sensitive::new(render(format, None, id, secret.expose()).unwrap())
    };
    let current = render_for(&dotenv, ID, &new_secret);
    let previous = render_for(&dotenv, OLD_ID, &old_secret);
    let by_hand = Sensitive::new("AKIAHANDWRITTEN00000");
    let observed = [
        Observed {
            arn: "holds",
            read: Ok((dotenv.clone(), Some(&current))),
        },
        Observed {
            arn: "behind",
            read: Ok((dotenv.clone(), Some(&previous))),
        },
        Observed {
            arn: "empty",
            read: Ok((MirrorFormat::AccessKeyId, None)),
        },
        Observed {
            arn: "edited",
            read: Ok((MirrorFormat::AccessKeyId, Some(&by_hand))),
        },
    ];
    let actions = plan(
        &observed,
        &pair(ID, &new_secret),
        Some(&pair(OLD_ID, &old_secret)),
    );
    assert_eq!(
        actions[0],
        Action::Holds {
            arn: "holds".into()
        }
    );
    assert_eq!(
        actions[1],
        Action::Write {
            arn: "behind".into(),
            value: current.clone(),
            repair: false
        }
    );
    assert_eq!(
        actions[2],
        Action::Write {
            arn: "empty".into(),
            value: Sensitive::new(ID),
            repair: false
        }
    );
    assert_eq!(
        actions[3],
        Action::Write {
            arn: "edited".into(),
            value: Sensitive::new(ID),
            repair: true
        }
    );
    assert!(
        all_hold(&actions),
        "every mirror can be brought to the current key"
    );
}

#[test]
fn a_refused_mirror_keeps_the_previous_key() {
    let secret = Sensitive::new("je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY");
    let refused = Refused {
        target: "t".into(),
        reason: "it has no tag iam-key-rotator:mirror-of".into(),
    };
    let ambiguous = Sensitive::new(format!(
        "AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_ACCESS_KEY_ID={OLD_ID}\n"
    ));
    let observed = [
        Observed {
            arn: "ok",
            read: Ok((MirrorFormat::Json, None)),
        },
        Observed {
            arn: "t",
            read: Err(refused.clone()),
        },
        Observed {
            arn: "text",
            read: Ok((MirrorFormat::Text(TextFormat::Dotenv), Some(&ambiguous))),
        },
    ];
    let actions = plan(&observed, &pair(ID, &secret), None);
    assert!(matches!(actions[0], Action::Write { repair: false, .. }));
    assert_eq!(actions[1], Action::Refused(refused));
    let Action::Refused(left) = &actions[2] else {
        panic!("{:?}", actions[2])
    };
    assert!(
        left.reason.contains("by hand") && !left.reason.contains(OLD_ID),
        "{}",
        left.reason
    );
    assert!(
        !all_hold(&actions),
        "a mirror not written: the previous key stays"
    );
    assert!(all_hold(&actions[..1]));
}

#[test]
fn a_mirror_holding_the_previous_key_in_another_tool_s_spelling_is_written_not_repaired() {
    // "Mirror Repaired" goes to the alarm topic: it says someone wrote the mirror by hand. A JSON
    // mirror another tool wrote (spaces, another field order) or a dotenv mirror with a stale
    // token line still gave its consumers the previous key, or the current one: a plain write.
    let (new_secret, old_secret) = (
        Sensitive::new("je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"),
        Sensitive::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    );
    let json = |id: &str, secret: &Sensitive| {
        let secret = secret.expose();
        Sensitive::new(format!(
            "{{\"Region\": \"eu-west-1\", \"SecretAccessKey\": \"{secret}\", \"AccessKeyId\": \"{id}\"}}"
        ))
    };
    let dotenv = |id: &str, secret: &Sensitive| {
        let secret = secret.expose();
        Sensitive::new(format!(
            "AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={secret}\nAWS_SESSION_TOKEN=stale\n"
        ))
    };
    let (old_json, new_json) = (json(OLD_ID, &old_secret), json(ID, &new_secret));
    let (old_dotenv, new_dotenv) = (dotenv(OLD_ID, &old_secret), dotenv(ID, &new_secret));
    let (other_json, other_dotenv) = (
        json("AKIAHANDWRITTEN00000", &old_secret),
        dotenv("AKIAHANDWRITTEN00000", &old_secret),
    );
    let other_secret = Sensitive::new("written/by/hand/xxxxxxxxxxxxxxxxxxxxxxxxx");
    // Half a key is no key: the previous id with a secret written by hand, the current id with
    // the previous secret.
    let (half_json, half_dotenv) = (json(OLD_ID, &other_secret), dotenv(ID, &old_secret));
    let old_id = Sensitive::new(OLD_ID);
    let text = MirrorFormat::Text(TextFormat::Dotenv);
    let observed = [
        (MirrorFormat::Json, &old_json),
        (MirrorFormat::Json, &new_json),
        (text.clone(), &old_dotenv),
        (text.clone(), &new_dotenv),
        (MirrorFormat::SecretAccessKey, &old_secret),
        (MirrorFormat::AccessKeyId, &old_id),
        (MirrorFormat::Json, &other_json),
        (text.clone(), &other_dotenv),
        (MirrorFormat::SecretAccessKey, &other_secret),
        (MirrorFormat::Json, &half_json),
        (text, &half_dotenv),
    ];
    let observed: Vec<Observed> = (observed.iter())
        .map(|(format, held)| Observed {
            arn: "t",
            read: Ok((format.clone(), Some(*held))),
        })
        .collect();
    let actions = plan(
        &observed,
        &pair(ID, &new_secret),
        Some(&pair(OLD_ID, &old_secret)),
    );
    let repairs: Vec<bool> = (actions.iter())
        .map(|action| match action {
            Action::Write { repair, .. } => *repair,
            other => panic!("every one is written: {other:?}"),
        })
        .collect();
    // The first six gave a key; the last five someone wrote by hand.
    let gave = [false; 6].into_iter();
    assert_eq!(repairs, gave.chain([true; 5]).collect::<Vec<_>>());
}
