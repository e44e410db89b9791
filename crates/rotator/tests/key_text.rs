//! The credentials-file and dotenv texts a key pair may be kept in (issue 23): the pair found as a
//! consumer's tool would read it, replaced with every other byte kept, and every text a tool could
//! read two ways refused, with a message that quotes no value.

use iam_key_rotator::key_text::{self, detect, find, key_id, secret, TextFormat, Tokens};

/// A source value's write: a session token is refused.
fn write(text: &str, format: &TextFormat, id: &str, secret: &str) -> Result<String, String> {
    key_text::write(text, format, (id, secret), Tokens::Refuse)
}

const OLD_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const OLD_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const NEW_ID: &str = "AKIAI44QH8DHBEXAMPLE";
const NEW_SECRET: &str = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY";

fn profile(name: &str) -> TextFormat {
    TextFormat::CredentialsFile {
        profile: name.to_owned(),
    }
}

fn credentials() -> String {
    format!(
        "# deploy job, written by hand\r\n[other]\r\naws_access_key_id = AKIAOTHERPROFILE0000\r\naws_secret_access_key = other\r\n\r\n[default]\r\nregion = eu-west-1\r\naws_access_key_id = {OLD_ID}\r\n; a comment\r\naws_secret_access_key={OLD_SECRET}\r\noutput = json\r\n"
    )
}

#[test]
fn a_credentials_file_profile_is_rotated_with_every_other_byte_kept() {
    let text = credentials();
    let pair = find(&text, &profile("default")).unwrap();
    assert_eq!(key_id(&text, &pair), Some(OLD_ID));
    assert_eq!(secret(&text, &pair), Some(OLD_SECRET));
    let new = write(&text, &profile("default"), NEW_ID, NEW_SECRET).unwrap();
    assert_eq!(
        new,
        text.replace(OLD_ID, NEW_ID).replace(OLD_SECRET, NEW_SECRET)
    );
    let other = find(&new, &profile("other")).unwrap();
    assert_eq!(
        key_id(&new, &other),
        Some("AKIAOTHERPROFILE0000"),
        "another profile is left alone"
    );
}

#[test]
fn option_names_are_read_without_case_as_botocore_reads_them() {
    let text =
        format!("[ci]\nAWS_Access_Key_Id = {OLD_ID}\nAWS_SECRET_ACCESS_KEY = {OLD_SECRET}\n");
    let new = write(&text, &profile("ci"), NEW_ID, NEW_SECRET).unwrap();
    assert_eq!(
        new,
        format!("[ci]\nAWS_Access_Key_Id = {NEW_ID}\nAWS_SECRET_ACCESS_KEY = {NEW_SECRET}\n")
    );
}

#[test]
fn a_missing_profile_or_value_is_added_where_a_tool_reads_it() {
    let fresh = write("", &profile("default"), NEW_ID, NEW_SECRET).unwrap();
    assert_eq!(
        fresh,
        format!("[default]\naws_access_key_id = {NEW_ID}\naws_secret_access_key = {NEW_SECRET}\n")
    );
    let other = "[other]\nregion = us-east-1";
    let added = write(other, &profile("ci"), NEW_ID, NEW_SECRET).unwrap();
    assert!(
        added.starts_with("[other]\nregion = us-east-1\n[ci]\n"),
        "{added:?}"
    );
    let half = format!("[ci]\naws_access_key_id = {OLD_ID}\n[next]\nregion = x\n");
    let completed = write(&half, &profile("ci"), NEW_ID, NEW_SECRET).unwrap();
    assert_eq!(completed, format!("[ci]\naws_access_key_id = {NEW_ID}\naws_secret_access_key = {NEW_SECRET}\n[next]\nregion = x\n"));
    let pair = find(&completed, &profile("ci")).unwrap();
    assert_eq!(secret(&completed, &pair), Some(NEW_SECRET));
    let empty_profile = write("[ci]\n[next]\n", &profile("ci"), NEW_ID, NEW_SECRET).unwrap();
    assert!(
        find(&empty_profile, &profile("ci")).unwrap().id.is_some(),
        "{empty_profile:?}"
    );
    assert!(
        find(&empty_profile, &profile("next")).unwrap().id.is_none(),
        "{empty_profile:?}"
    );
}

#[test]
fn a_dotenv_text_keeps_its_export_and_quotes() {
    let text = format!("# app\nexport AWS_ACCESS_KEY_ID=\"{OLD_ID}\"\nAWS_REGION=eu-west-1\nAWS_SECRET_ACCESS_KEY='{OLD_SECRET}' # rotated\n");
    let pair = find(&text, &TextFormat::Dotenv).unwrap();
    assert_eq!(key_id(&text, &pair), Some(OLD_ID));
    assert_eq!(secret(&text, &pair), Some(OLD_SECRET));
    let new = write(&text, &TextFormat::Dotenv, NEW_ID, NEW_SECRET).unwrap();
    assert_eq!(
        new,
        text.replace(OLD_ID, NEW_ID).replace(OLD_SECRET, NEW_SECRET)
    );
    let bare = format!("AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SECRET_ACCESS_KEY={OLD_SECRET}");
    let new = write(&bare, &TextFormat::Dotenv, NEW_ID, NEW_SECRET).unwrap();
    assert_eq!(
        new,
        format!("AWS_ACCESS_KEY_ID={NEW_ID}\nAWS_SECRET_ACCESS_KEY={NEW_SECRET}")
    );
    let appended = write("LOG=debug", &TextFormat::Dotenv, NEW_ID, NEW_SECRET).unwrap();
    assert_eq!(
        appended,
        format!("LOG=debug\nAWS_ACCESS_KEY_ID={NEW_ID}\nAWS_SECRET_ACCESS_KEY={NEW_SECRET}\n")
    );
}

#[test]
fn a_text_a_tool_could_read_two_ways_is_refused_without_quoting_it() {
    let cases = [
        (format!("[default]\naws_access_key_id = {OLD_ID}\nAWS_ACCESS_KEY_ID = {NEW_ID}\n"), profile("default"), "a second time"),
        (format!("[default]\naws_access_key_id = {OLD_ID}\n[default]\naws_secret_access_key = {OLD_SECRET}\n"), profile("default"), "the profile on line 3 is given twice"),
        // botocore reads `[ci] # prod` as the profile ci, and an indented header as a continuation.
        (format!("[ci] # prod\naws_access_key_id = {OLD_ID}\n"), profile("ci"), "a profile header this function does not read"),
        (format!("[a]\nregion = x\n  [ci]\naws_access_key_id = {OLD_ID}\n"), profile("ci"), "indented"),
        (format!("[ci]\naws_secret_access_key = {OLD_SECRET}\rregion = x\n"), profile("ci"), "control character"),
        (format!("aws_access_key_id = {OLD_ID}\n[ci]\n"), profile("ci"), "before any profile header"),
        (format!("[default]\naws_access_key_id = {OLD_ID}\naws_session_token = {OLD_SECRET}\n"), profile("default"), "other credentials"),
        (format!("[default]\naws_access_key_id = {OLD_ID}\n  {OLD_SECRET}\n"), profile("default"), "indented"),
        (format!("[default]\n{OLD_SECRET}\n"), profile("default"), "not `name = value`"),
        (format!("[default]\naws_access_key_id = {OLD_SECRET}\n"), profile("default"), "does not look like an access key id"),
        (format!("AWS_ACCESS_KEY_ID={OLD_ID}\nexport\tAWS_ACCESS_KEY_ID={NEW_ID}\n"), TextFormat::Dotenv, "a second time"),
        // Node's dotenv reads `NAME: value`; python-dotenv does not.
        (format!("AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SECRET_ACCESS_KEY: {OLD_SECRET}\n"), TextFormat::Dotenv, "a form this function does not read"),
        (format!("AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SECRET_ACCESS_KEY=a#{OLD_SECRET}\n"), TextFormat::Dotenv, "read differently"),
        (format!("AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SECRET_ACCESS_KEY={OLD_SECRET} more\n"), TextFormat::Dotenv, "read differently"),
        (format!("AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SECRET_ACCESS_KEY=\"{OLD_SECRET}\n"), TextFormat::Dotenv, "not closed"),
        (format!("AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SESSION_TOKEN={OLD_SECRET}\n"), TextFormat::Dotenv, "other credentials"),
        (format!("AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SECRET_ACCESS_KEY=\"\"\n"), TextFormat::Dotenv, "is empty"),
    ];
    for (text, format, reason) in cases {
        let error = find(&text, &format).unwrap_err();
        assert!(error.contains(reason), "{error}");
        assert!(
            write(&text, &format, NEW_ID, NEW_SECRET).is_err(),
            "written over: {error}"
        );
        for material in [OLD_SECRET, NEW_SECRET] {
            assert!(
                !error.contains(material),
                "the message quotes a secret: {error}"
            );
        }
    }
}

#[test]
fn detect_finds_the_one_profile_holding_a_key_or_a_dotenv_text() {
    assert!(detect(&credentials()).unwrap_err().contains("2 profiles"));
    let one = format!("[ci]\naws_access_key_id = {OLD_ID}\naws_secret_access_key = {OLD_SECRET}\n[tools]\nregion = x\n");
    assert_eq!(detect(&one).unwrap(), Some(profile("ci")));
    let dotenv = format!("AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SECRET_ACCESS_KEY={OLD_SECRET}\n");
    assert_eq!(detect(&dotenv).unwrap(), Some(TextFormat::Dotenv));
    assert_eq!(detect("{\"UserName\": \"u\"}").unwrap(), None);
    assert_eq!(detect("just a password").unwrap(), None);
    assert_eq!(detect("[only]\nregion = us-east-1\n").unwrap(), None);
}

#[test]
fn a_text_that_only_looks_like_a_credentials_file_is_refused_without_quoting_it() {
    // A JSON array of pairs: its lines look like headers, and must not be quoted as profile names.
    let array = "[\n  [\"aws_access_key_id\", \"p@ssw0rd-not-a-key\"]\n]";
    let error = detect(array).unwrap_err();
    assert!(
        error.contains("line 1") && !error.contains("p@ss"),
        "{error}"
    );
    assert_eq!(
        detect("[\n  [\"svc\", \"p@ss\"]\n]").unwrap(),
        None,
        "no key name: not a key text at all"
    );
}

#[test]
fn a_missing_id_is_added_beside_its_secret_whatever_the_old_secret_s_length() {
    let long = "s".repeat(100);
    let text = format!("[default]\naws_secret_access_key = {long}\n[next]\nregion = x\n");
    let written = write(&text, &profile("default"), NEW_ID, NEW_SECRET).unwrap();
    assert_eq!(written, format!("[default]\naws_secret_access_key = {NEW_SECRET}\naws_access_key_id = {NEW_ID}\n[next]\nregion = x\n"));
    let crlf = format!(
        "[default]\r\naws_access_key_id = {OLD_ID}\r\naws_secret_access_key = {OLD_SECRET}\r\n"
    );
    let written = write(&crlf, &profile("default"), NEW_ID, NEW_SECRET).unwrap();
    assert_eq!(
        written,
        crlf.replace(OLD_ID, NEW_ID).replace(OLD_SECRET, NEW_SECRET),
        "CRLF kept"
    );
    let no_newline = write(
        "[default]\nregion = x",
        &profile("default"),
        NEW_ID,
        NEW_SECRET,
    )
    .unwrap();
    assert_eq!(no_newline, format!("[default]\nregion = x\naws_access_key_id = {NEW_ID}\naws_secret_access_key = {NEW_SECRET}\n"));
}

#[test]
fn what_python_or_node_would_read_otherwise_is_refused() {
    let cases = [
        // configparser takes a form feed for indentation (a continuation line); Rust's trim does not.
        (
            format!("[a]\nnote = x\n\x0c\x0caws_access_key_id = {OLD_ID}\n"),
            profile("a"),
            "unusual whitespace",
        ),
        // Python lower-cases the Kelvin sign into k: a key name this module would not see.
        (
            format!(
                "[a]\naws_access_\u{212A}ey_id = {NEW_ID}\n[b]\naws_access_key_id = {OLD_ID}\n"
            ),
            profile("b"),
            "outside ASCII",
        ),
        // Node's dotenv ends a line at U+2028, so this "comment" assigns the id.
        (
            format!("AWS_ACCESS_KEY_ID={OLD_ID}\n# x\u{2028}AWS_ACCESS_KEY_ID={NEW_ID}\n"),
            TextFormat::Dotenv,
            "unusual whitespace",
        ),
        (
            format!("AWS_ACCESS_KEY_ID={OLD_ID}\r\r\nAWS_SECRET_ACCESS_KEY={OLD_SECRET}\n"),
            TextFormat::Dotenv,
            "control character",
        ),
        // python-dotenv keeps backticks in the value.
        (
            format!("AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SECRET_ACCESS_KEY=`{OLD_SECRET}`\n"),
            TextFormat::Dotenv,
            "read differently",
        ),
        // An open quote runs over the next lines for both loaders: they never see the pair.
        (
            format!("NOTE=\"\nAWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SECRET_ACCESS_KEY={OLD_SECRET}\n"),
            TextFormat::Dotenv,
            "not closed",
        ),
        (
            format!("AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SECURITY_TOKEN=x\n"),
            TextFormat::Dotenv,
            "other credentials",
        ),
        (
            format!(
                "[a]\naws_access_key_id = {OLD_ID}\nrole_arn = arn:aws:iam::123456789012:role/x\n"
            ),
            profile("a"),
            "other credentials",
        ),
        (
            format!("[a]\naws_access_key_id = {OLD_ID}\ncredential_process = /bin/x\n"),
            profile("a"),
            "other credentials",
        ),
    ];
    for (text, format, reason) in cases {
        let error = find(&text, &format).unwrap_err();
        assert!(error.contains(reason), "{reason}: {error}");
        assert!(!error.contains(OLD_SECRET), "{error}");
    }
    // Unicode in a comment is only a comment.
    let commented = format!(
        "# café\n[a]\naws_access_key_id = {OLD_ID}\naws_secret_access_key = {OLD_SECRET}\n"
    );
    assert!(find(&commented, &profile("a")).unwrap().id.is_some());
}

#[test]
fn a_text_value_s_debug_names_its_kind_never_its_profile_or_values() {
    use iam_key_rotator::secret_value::SecretValue;
    use iam_key_rotator::sensitive::Sensitive;
    let text = format!(
        "[team-x-prod]\naws_access_key_id = {OLD_ID}\naws_secret_access_key = {OLD_SECRET}\n"
    );
    let shown = format!("{:?}", SecretValue::parse(&Sensitive::new(text)).unwrap());
    assert!(shown.contains("credentials-file"), "{shown}");
    assert!(
        !shown.contains("team-x-prod") && !shown.contains(OLD_SECRET),
        "{shown}"
    );
    let dotenv = format!("AWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SECRET_ACCESS_KEY={OLD_SECRET}\n");
    let shown = format!("{:?}", SecretValue::parse(&Sensitive::new(dotenv)).unwrap());
    assert!(
        shown.contains("dotenv") && !shown.contains(OLD_SECRET),
        "{shown}"
    );
}

#[test]
fn a_mirror_s_stale_session_token_goes_and_every_other_line_stays() {
    let dotenv = TextFormat::Dotenv;
    let text = format!("REGION=x\nAWS_ACCESS_KEY_ID={OLD_ID}\nAWS_SESSION_TOKEN=stale-token\nAWS_SECRET_ACCESS_KEY={OLD_SECRET}\n");
    assert!(
        write(&text, &dotenv, NEW_ID, NEW_SECRET).is_err(),
        "a source's token is refused"
    );
    let written = key_text::write(&text, &dotenv, (NEW_ID, NEW_SECRET), Tokens::Drop).unwrap();
    assert_eq!(
        written,
        format!("REGION=x\nAWS_ACCESS_KEY_ID={NEW_ID}\nAWS_SECRET_ACCESS_KEY={NEW_SECRET}\n")
    );
    // In a credentials file, the named profile's token only; another profile's stays. The last
    // line, without its newline, goes too.
    let text = format!("[ci]\naws_access_key_id = {OLD_ID}\naws_secret_access_key = {OLD_SECRET}\nregion = x\nAWS_Security_Token = old\n\n[other]\naws_session_token = theirs\n[ci2]\naws_session_token = last");
    let written =
        key_text::write(&text, &profile("ci"), (NEW_ID, NEW_SECRET), Tokens::Drop).unwrap();
    assert_eq!(written, format!("[ci]\naws_access_key_id = {NEW_ID}\naws_secret_access_key = {NEW_SECRET}\nregion = x\n\n[other]\naws_session_token = theirs\n[ci2]\naws_session_token = last"));
    let last = key_text::write(&text, &profile("ci2"), (NEW_ID, NEW_SECRET), Tokens::Drop).unwrap();
    assert!(
        last.ends_with(&format!(
            "[ci2]\naws_access_key_id = {NEW_ID}\naws_secret_access_key = {NEW_SECRET}\n"
        )),
        "{last:?}"
    );
    assert!(last.contains("aws_session_token = theirs"));
    // Other credentials than a key pair are still refused, token or not.
    let role = format!("[ci]\naws_access_key_id = {OLD_ID}\nrole_arn = arn:aws:iam::1:role/r\n");
    assert!(key_text::write(&role, &profile("ci"), (NEW_ID, NEW_SECRET), Tokens::Drop).is_err());
}
