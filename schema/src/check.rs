//! Format checks for the values settings carry. Each returns `Err(Problem)` with a message
//! and, where it helps, a hint. No regex engine: the formats are small and fixed.

/// What is wrong with a value, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    fn new(message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }
}

pub type Check = Result<(), Problem>;

pub fn account_id(value: &str) -> Check {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Problem::new(format!("`{value}` is not an AWS account id"))
            .hint("an account id is exactly 12 digits, e.g. '123456789012'"))
    }
}

/// `ou-` + 4 to 32 lowercase letters or digits + `-` + 8 to 32 of them (the AWS pattern).
pub fn organizational_unit_id(value: &str) -> Check {
    let ok = value.strip_prefix("ou-").is_some_and(|rest| {
        rest.split_once('-').is_some_and(|(root, unit)| {
            (4..=32).contains(&root.len())
                && (8..=32).contains(&unit.len())
                && root
                    .bytes()
                    .chain(unit.bytes())
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
    });
    if ok {
        Ok(())
    } else {
        Err(
            Problem::new(format!("`{value}` is not an organizational unit id"))
                .hint("an OU id looks like 'ou-ab12-cdef3456' (see the AWS Organizations console)"),
        )
    }
}

fn tag_chars(value: &str) -> Option<char> {
    value
        .chars()
        .find(|c| !(c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(*c)))
}

/// AWS Organizations tag keys: 1–128 characters from letters, digits, spaces and `_.:/=+-@`;
/// the `aws:` prefix is reserved.
pub fn tag_key(value: &str) -> Check {
    let length = value.chars().count();
    if length == 0 || length > 128 {
        return Err(Problem::new(format!(
            "tag key `{value}` has {length} characters; AWS accepts 1 to 128"
        )));
    }
    if let Some(c) = tag_chars(value) {
        return Err(Problem::new(format!("tag key `{value}` contains `{c}`"))
            .hint("tag keys may contain letters, digits, spaces and _ . : / = + - @"));
    }
    if value.to_ascii_lowercase().starts_with("aws:") {
        return Err(Problem::new(format!(
            "tag key `{value}` uses the reserved prefix `aws:`"
        )));
    }
    Ok(())
}

/// AWS Organizations tag values: 0–256 characters from the same set as keys.
pub fn tag_value(value: &str) -> Check {
    let length = value.chars().count();
    if length > 256 {
        return Err(Problem::new(format!(
            "tag value has {length} characters; AWS accepts at most 256"
        )));
    }
    if let Some(c) = tag_chars(value) {
        return Err(Problem::new(format!("tag value `{value}` contains `{c}`"))
            .hint("tag values may contain letters, digits, spaces and _ . : / = + - @"));
    }
    Ok(())
}

/// Environment variable names as CodeBuild accepts them; `CODEBUILD_` is reserved.
pub fn variable_name(value: &str) -> Check {
    let mut bytes = value.bytes();
    let valid = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(Problem::new(format!(
            "`{value}` is not a valid environment variable name"
        ))
        .hint(
            "use letters, digits and underscores, not starting with a digit, e.g. BUDGET_AMOUNT",
        ));
    }
    if value.starts_with("CODEBUILD_") {
        return Err(Problem::new(format!(
            "`{value}` starts with `CODEBUILD_`, which CodeBuild reserves"
        )));
    }
    Ok(())
}

/// A plain e-mail address (`local@domain.tld`).
/// Whether an e-mail address cannot stand unquoted in a mail header: what settings refuse
/// and the mailer refuses alike.
pub fn unsafe_in_address(c: char) -> bool {
    c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c)
}

pub fn email(value: &str) -> Check {
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && local.len() <= 64
            // What a mail header cannot carry unquoted: refused here, not by the mailer.
            && !local.chars().any(unsafe_in_address)
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
    });
    if valid {
        Ok(())
    } else {
        Err(Problem::new(format!("`{value}` is not an e-mail address"))
            .hint("write it as name@example.com"))
    }
}

/// An e-mail address, optionally with a display name: `"SPA" <spa@example.com>`.
pub fn email_with_name(value: &str) -> Check {
    match value.rsplit_once('<') {
        Some((name, rest)) => {
            let Some(address) = rest.strip_suffix('>') else {
                return Err(Problem::new(format!(
                    "`{value}` has `<` without a closing `>`"
                )));
            };
            if name.trim().is_empty() {
                return Err(Problem::new(format!("`{value}` has an empty display name"))
                    .hint("write `\"Name\" <name@example.com>` or just the address"));
            }
            email(address.trim())
        }
        None => email(value),
    }
}

pub fn https_url(value: &str) -> Check {
    let Some(rest) = value.strip_prefix("https://") else {
        return Err(Problem::new(format!("`{value}` is not an https URL"))
            .hint("the URL must start with https://"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    if host_name.is_empty()
        || value.contains(char::is_whitespace)
        || !host_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(Problem::new(format!("`{value}` is not a valid URL")));
    }
    Ok(())
}

/// What spa calls out to (exchange rates, webhooks): an https URL, or plain http to this
/// machine (`http://127.0.0.1…`, `http://localhost…`), where tests run a local server.
pub fn https_or_local_url(value: &str) -> Check {
    const HINT: &str =
        "the URL must start with https:// (plain http only to 127.0.0.1 or localhost)";
    let Some(rest) = value.strip_prefix("http://") else {
        let https = value.starts_with("https://");
        return https_url(value)
            .map_err(|problem| if https { problem } else { problem.hint(HINT) });
    };
    let local = ["127.0.0.1", "localhost"].iter().any(|host| {
        rest.strip_prefix(host)
            .is_some_and(|after| after.is_empty() || after.starts_with([':', '/', '?', '#']))
    });
    if local && !value.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(Problem::new(format!("`{value}` is not an https URL")).hint(HINT))
    }
}

/// The AWS partitions an ARN may name.
const PARTITIONS: &[&str] = &["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"];

/// `arn:partition:service:region:account:resource`.
pub fn arn(value: &str) -> Check {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let bad = || {
        Problem::new(format!("`{value}` is not an ARN"))
            .hint("an ARN looks like arn:aws:service:region:123456789012:resource")
    };
    if parts.len() != 6 || parts[0] != "arn" || parts[5].is_empty() {
        return Err(bad());
    }
    if !PARTITIONS.contains(&parts[1]) {
        return Err(
            Problem::new(format!("`{}` is not an AWS partition", parts[1]))
                .hint("use aws, aws-cn or aws-us-gov"),
        );
    }
    if parts[2].is_empty()
        || !parts[2]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(bad());
    }
    if !parts[4].is_empty() && account_id(parts[4]).is_err() {
        return Err(Problem::new(format!(
            "the account `{}` in `{value}` is not 12 digits",
            parts[4]
        )));
    }
    Ok(())
}

/// An IAM role ARN: `arn:aws:iam::123456789012:role/Name`.
pub fn role_arn(value: &str) -> Check {
    arn(value)?;
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts[2] != "iam" || !parts[5].starts_with("role/") || parts[4].is_empty() {
        return Err(Problem::new(format!("`{value}` is not an IAM role ARN"))
            .hint("write arn:aws:iam::123456789012:role/RoleName"));
    }
    role_name(parts[5].rsplit('/').next().unwrap_or(""))
}

/// An IAM managed policy ARN: `arn:<partition>:iam::aws:policy/<path/name>` (managed by
/// AWS) or `arn:<partition>:iam::<12 digits>:policy/<path/name>` (managed by a customer).
pub fn managed_policy_arn(value: &str) -> Check {
    let bad = || {
        Problem::new(format!("`{value}` is not an IAM managed policy ARN")).hint(
            "write arn:aws:iam::aws:policy/AdministratorAccess or arn:aws:iam::123456789012:policy/PolicyName",
        )
    };
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" || !parts[3].is_empty() {
        return Err(bad());
    }
    if !PARTITIONS.contains(&parts[1]) {
        return Err(
            Problem::new(format!("`{}` is not an AWS partition", parts[1]))
                .hint("use aws, aws-cn or aws-us-gov"),
        );
    }
    if parts[4] != "aws" && account_id(parts[4]).is_err() {
        return Err(Problem::new(format!(
            "the account `{}` in `{value}` is neither `aws` nor 12 digits",
            parts[4]
        ))
        .hint("AWS managed policies have `aws` there, customer managed policies the account id"));
    }
    let Some(path) = parts[5].strip_prefix("policy/") else {
        return Err(bad());
    };
    let segments: Vec<&str> = path.split('/').collect();
    let name = segments.last().copied().unwrap_or_default();
    let valid_segment = |segment: &str| {
        !segment.is_empty()
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    };
    if !segments.iter().all(|s| valid_segment(s)) || name.len() > 128 || path.len() > 512 + 128 {
        return Err(
            Problem::new(format!("`{path}` is not a valid IAM policy path and name"))
                .hint("policy names are 1 to 128 letters, digits and + = , . @ _ -; a path adds folders, e.g. policy/service-role/Name"),
        );
    }
    Ok(())
}

/// The `name` of a service control policy in settings: 1–100 of letters, digits, `_` and `-`
/// (spa names the policy `<environment_identifier>-<name>` in AWS).
pub fn policy_name(value: &str) -> Check {
    if (1..=100).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(())
    } else {
        Err(
            Problem::new(format!("`{value}` is not a valid policy name"))
                .hint("1 to 100 letters, digits, _ and -, e.g. DenyLeavingTheOrganization"),
        )
    }
}

/// The description of a service control policy: at most 512 characters (AWS's limit).
pub fn policy_description(value: &str) -> Check {
    let length = value.chars().count();
    if length <= 512 {
        Ok(())
    } else {
        Err(Problem::new(format!(
            "the description has {length} characters; AWS accepts at most 512"
        )))
    }
}

/// IAM role names: 1–64 of letters, digits and `+=,.@_-`.
pub fn role_name(value: &str) -> Check {
    if (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    {
        Ok(())
    } else {
        Err(
            Problem::new(format!("`{value}` is not a valid IAM role name"))
                .hint("1 to 64 letters, digits and + = , . @ _ -"),
        )
    }
}

/// Region codes such as `eu-west-1` or `us-gov-west-1`.
pub fn region(value: &str) -> Check {
    let parts: Vec<&str> = value.split('-').collect();
    let valid = (3..=4).contains(&parts.len())
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if valid {
        Ok(())
    } else {
        Err(Problem::new(format!("`{value}` is not an AWS region")).hint("e.g. eu-west-1"))
    }
}

/// Letters and digits, starting with a letter: it prefixes SSM names, stacks and events.
/// SSM refuses parameter names that begin with `aws` or `ssm` in any case, so such an
/// identifier would validate and then fail on every parameter at apply time.
pub fn environment_identifier(value: &str) -> Check {
    let mut bytes = value.bytes();
    if !(bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric())
        && value.len() <= 64)
    {
        return Err(
            Problem::new(format!("`{value}` is not a valid environment identifier"))
                .hint("use letters and digits only, starting with a letter, e.g. SpaProduction"),
        );
    }
    // ASCII was checked above: the first three bytes are three characters.
    let prefix = value.get(..3).unwrap_or(value);
    if prefix.eq_ignore_ascii_case("aws") || prefix.eq_ignore_ascii_case("ssm") {
        return Err(Problem::new(format!(
            "environment identifier `{value}` begins with `{prefix}`: SSM refuses the names of the parameters under /{value}/"
        ))
        .hint("SSM reserves names beginning with \"aws\" or \"ssm\" (in any case); choose another prefix such as SpaProd"));
    }
    Ok(())
}

pub fn currency(value: &str) -> Check {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(
            Problem::new(format!("`{value}` is not an ISO 4217 currency code"))
                .hint("three capital letters, e.g. EUR"),
        )
    }
}

/// A name that becomes one level of an SSM parameter name.
pub fn ssm_name_part(value: &str) -> Check {
    if !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        Ok(())
    } else {
        Err(
            Problem::new(format!("`{value}` cannot be part of an SSM parameter name"))
                .hint("use letters, digits and _ . -"),
        )
    }
}

/// DynamoDB table names: 3–255 of letters, digits and `_.-`.
pub fn table_name(value: &str) -> Check {
    if (3..=255).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        Ok(())
    } else {
        Err(
            Problem::new(format!("`{value}` is not a valid DynamoDB table name"))
                .hint("3 to 255 letters, digits and _ . -"),
        )
    }
}

/// An S3 key prefix: no leading `/`, printable.
pub fn key_prefix(value: &str) -> Check {
    // S3 keys stop at 1,024 bytes, and a report's name follows its prefix (a cost center
    // twice, up to 120 bytes each): past this, every upload would be refused.
    const MAX: usize = 512;
    if value.is_empty() || value.starts_with('/') || value.chars().any(char::is_control) {
        Err(
            Problem::new(format!("`{value}` is not a valid S3 key prefix"))
                .hint("e.g. SpaReports/Costs, without a leading slash"),
        )
    } else if value.len() > MAX {
        Err(Problem::new(format!(
            "the S3 key prefix is {} bytes: at most {MAX}",
            value.len()
        ))
        .hint("S3 keys stop at 1,024 bytes and the report's name follows the prefix; shorten it"))
    } else {
        Ok(())
    }
}

/// `MAXIMUM_AGE` of the purge: a number and a unit among `h d w M y`.
pub fn maximum_age(value: &str) -> Check {
    // The unit is the last character, not the last byte: `9é` must not split inside `é`.
    let mut chars = value.chars();
    let unit = chars.next_back();
    let number = chars.as_str();
    if !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, Some('h' | 'd' | 'w' | 'M' | 'y'))
    {
        Ok(())
    } else {
        Err(Problem::new(format!("`{value}` is not an age"))
            .hint("write a number and a unit: 12h, 5d, 2w, 3M or 1y"))
    }
}

pub fn purge_mode(value: &str) -> Check {
    if matches!(value, "--dry-run" | "--force") {
        Ok(())
    } else {
        Err(Problem::new(format!(
            "PURGE_MODE `{value}` is neither `--dry-run` nor `--force`"
        ))
        .hint("`--dry-run` reports what would be deleted; `--force` deletes"))
    }
}

pub fn positive_number(value: &str) -> Check {
    match value.parse::<f64>() {
        Ok(number) if number > 0.0 && number.is_finite() => Ok(()),
        _ => Err(Problem::new(format!("`{value}` is not a positive number"))),
    }
}

pub fn percentage(value: &str) -> Check {
    match value.parse::<f64>() {
        Ok(number) if number > 0.0 && number <= 1000.0 => Ok(()),
        _ => Err(Problem::new(format!("`{value}` is not a percentage"))
            .hint("a number such as 80 (percent of the budget)")),
    }
}

/// Checks of variables whose meaning spa knows (the shipped buildspecs use them).
pub fn known_variable(name: &str, value: &str) -> Check {
    match name {
        "MAXIMUM_AGE" => maximum_age(value),
        "PURGE_MODE" => purge_mode(value),
        "BUDGET_AMOUNT" => positive_number(value),
        "ALERT_THRESHOLD" => percentage(value),
        "BUDGET_EMAIL" => email(value),
        _ => Ok(()),
    }
}

/// Resolves `written` (relative to `base_dir`, the directory of settings.yaml) to a
/// normalised path inside the repository. Refuses absolute paths and paths that climb out.
pub fn repository_path(base_dir: &str, written: &str) -> Result<String, Problem> {
    if written.is_empty() {
        return Err(Problem::new("empty path"));
    }
    if written.starts_with('/')
        || written.starts_with('\\')
        || written.get(1..3) == Some(":\\")
        || written.get(1..3) == Some(":/")
    {
        return Err(Problem::new(format!("`{written}` is an absolute path"))
            .hint("paths are relative to the directory of settings.yaml and stay inside the repository"));
    }
    if written.contains('\\') {
        return Err(Problem::new(format!("`{written}` contains a backslash"))
            .hint("separate directories with `/`"));
    }
    let mut parts: Vec<&str> = base_dir
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in written.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Problem::new(format!("`{written}` leaves the repository"))
                        .hint("settings may only name files inside the settings repository"));
                }
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(Problem::new(format!(
            "`{written}` names the repository root, not a file"
        )));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(account_id("123456789012").is_ok());
        assert!(account_id("12345678901").is_err());
        assert!(organizational_unit_id("ou-ab12-cdef3456").is_ok());
        assert!(organizational_unit_id("ou-1234").is_err());
        assert!(tag_key("cost-center").is_ok());
        assert!(tag_key("aws:foo").is_err());
        assert!(tag_key("a!b").is_err());
        assert!(tag_value("").is_ok());
        assert!(tag_value("Foo Bar @ 1.2").is_ok());
        assert!(variable_name("BUDGET_AMOUNT").is_ok());
        assert!(variable_name("1ABC").is_err());
        assert!(variable_name("CODEBUILD_X").is_err());
        assert!(email("a.b@example.com").is_ok());
        assert!(email("a.b@example").is_err());
        assert!(key_prefix(&"a/".repeat(256)).is_ok());
        assert!(key_prefix(&"a/".repeat(257)).is_err());
        for bad in [
            "a,b@example.com",
            "a;b@example.com",
            "\"a\"@example.com",
            "a\u{7}b@example.com",
            "a<b@example.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
        assert!(email("first.last+tag@example.com").is_ok());
        assert!(email_with_name("\"SPA\" <spa@example.com>").is_ok());
        assert!(email_with_name("<spa@example.com>").is_err());
        assert!(https_url("https://acme.webhook.office.com/x?y").is_ok());
        assert!(https_url("http://acme").is_err());
        assert!(role_arn("arn:aws:iam::222222222222:role/SpaAccountsManagementRole").is_ok());
        assert!(role_arn("arn:aws:s3:::bucket").is_err());
        assert!(arn("arn:aws:ssm-incidents::123456789012:response-plan/x").is_ok());
        assert!(region("eu-west-1").is_ok());
        assert!(region("us-gov-west-1").is_ok());
        assert!(region("europe").is_err());
        assert!(maximum_age("9M").is_ok());
        assert!(maximum_age("9 months").is_err());
        assert!(purge_mode("--force").is_ok());
        assert!(purge_mode("force").is_err());
        assert!(environment_identifier("SpaProd").is_ok());
        assert!(environment_identifier("SpaAws").is_ok());
        assert!(environment_identifier("Sp").is_ok());
        assert!(managed_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess").is_ok());
        assert!(
            managed_policy_arn("arn:aws:iam::aws:policy/service-role/AWSCodeBuildAdminAccess")
                .is_ok()
        );
        assert!(managed_policy_arn("arn:aws-cn:iam::123456789012:policy/Spa/Purge").is_ok());
        assert!(managed_policy_arn("arn:aws:iam::aws:role/AdministratorAccess").is_err());
        assert!(managed_policy_arn("arn:aws:iam::12345:policy/X").is_err());
        assert!(managed_policy_arn("arn:aws:iam::aws:policy/").is_err());
        assert!(managed_policy_arn("arn:aws:iam::aws:policy//X").is_err());
        assert!(managed_policy_arn("arn:aws:iam:eu-west-1:aws:policy/X").is_err());
        assert!(managed_policy_arn("arn:aws:s3:::policy/X").is_err());
        assert!(
            https_or_local_url("https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml")
                .is_ok()
        );
        assert!(https_or_local_url("http://127.0.0.1:8080/rates.xml").is_ok());
        assert!(https_or_local_url("http://localhost/rates.xml").is_ok());
        assert!(https_or_local_url("http://localhost").is_ok());
        assert!(https_or_local_url("http://localhost.example.com/rates.xml").is_err());
        assert!(https_or_local_url("http://127.0.0.10/rates.xml").is_err());
        assert!(https_or_local_url("http://www.ecb.europa.eu/rates.xml").is_err());
        assert!(https_or_local_url("ftp://localhost/rates.xml").is_err());
        assert!(policy_name("Deny_Leaving-1").is_ok());
        assert!(policy_name("").is_err());
        assert!(policy_name("Deny Leaving").is_err());
        assert!(policy_name(&"x".repeat(101)).is_err());
        assert!(policy_description(&"é".repeat(512)).is_ok());
        assert!(policy_description(&"é".repeat(513)).is_err());
    }

    #[test]
    fn environment_identifiers_avoid_the_prefixes_ssm_reserves() {
        for reserved in [
            "aws",
            "AwsProduction",
            "awsome",
            "AWS1",
            "ssm",
            "SsmTest",
            "SSMx",
        ] {
            let problem = environment_identifier(reserved).unwrap_err();
            assert!(
                problem
                    .hint
                    .unwrap()
                    .contains("SSM reserves names beginning with"),
                "{reserved}"
            );
        }
    }

    proptest::proptest! {
        /// Values come from the input: no check may panic on any text.
        #[test]
        fn no_check_panics(value in ".{0,12}") {
            let checks: &[fn(&str) -> Check] = &[
                account_id, organizational_unit_id, tag_key, tag_value, variable_name, email,
                email_with_name, https_url, arn, role_arn, role_name, region,
                environment_identifier, currency, ssm_name_part, table_name, key_prefix,
                maximum_age, purge_mode, positive_number, percentage, managed_policy_arn,
                https_or_local_url, policy_name, policy_description,
            ];
            for check in checks {
                let _ = check(&value);
            }
            let _ = repository_path("conf", &value);
        }
    }

    #[test]
    fn a_multi_byte_unit_is_not_an_age() {
        assert!(maximum_age("9é").is_err());
        assert!(maximum_age("é").is_err());
    }

    #[test]
    fn paths_stay_inside_the_repository() {
        assert_eq!(repository_path("", "a/b.csv").unwrap(), "a/b.csv");
        assert_eq!(
            repository_path("conf", "./a/../b.csv").unwrap(),
            "conf/b.csv"
        );
        assert_eq!(repository_path("conf", "../b.csv").unwrap(), "b.csv");
        assert!(repository_path("", "../b.csv").is_err());
        assert!(repository_path("conf", "../../b.csv").is_err());
        assert!(repository_path("", "/etc/passwd").is_err());
        assert!(repository_path("", "C:\\x").is_err());
    }
}
