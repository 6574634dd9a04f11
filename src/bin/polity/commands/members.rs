//! `polity members [--tag KEY=VALUE]...`: the members the agent knows,
//! `NAME ADDR STATUS TAGS`, as `serf members -tag`.

use std::process::ExitCode;

use crate::api::{MemberView, MembersBody};
use crate::client::output::{Answer, answer, refused, show, table};
use crate::node_args::parse_tag;

use super::ClientArgs;

#[derive(clap::Args, Debug)]
pub struct MembersArgs {
    /// Only members with this tag, as KEY=VALUE; repeat to ask for all of several.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs `polity members`. With `--json` and `--tag`, the agent's answer less the
/// members that lack a tag asked for.
pub fn run(args: MembersArgs) -> ExitCode {
    let client = match args.client.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let json = args.client.json;
    match answer::<MembersBody>(&args.client.http, client.get("/members")) {
        Ok(Answer::Done(mut body, raw)) => {
            body.members.retain(|m| has_tags(m, &args.tags));
            let raw = if args.tags.is_empty() {
                raw
            } else {
                serde_json::to_string(&body).unwrap_or(raw)
            };
            show(json, &body, &raw, members_table);
            ExitCode::SUCCESS
        }
        Ok(Answer::Refused(error, raw)) => refused(json, &error, &raw, &[]),
        Err(code) => code,
    }
}

/// Whether `member` has every one of `tags`.
fn has_tags(member: &MemberView, tags: &[(String, String)]) -> bool {
    tags.iter()
        .all(|(key, value)| member.tags.get(key) == Some(value))
}

/// `NAME ADDR STATUS TAGS`, aligned, with a header; tags as `k1=v1,k2=v2`.
fn members_table(body: &MembersBody) -> String {
    let tags: Vec<String> = body
        .members
        .iter()
        .map(|m| {
            let pairs: Vec<String> = m.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            pairs.join(",")
        })
        .collect();
    let rows: Vec<Vec<&str>> = std::iter::once(vec!["NAME", "ADDR", "STATUS", "TAGS"])
        .chain(body.members.iter().zip(&tags).map(|(m, tags)| {
            vec![
                m.name.as_str(),
                m.addr.as_str(),
                m.status.as_str(),
                tags.as_str(),
            ]
        }))
        .collect();
    table(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::MemberView;

    #[test]
    fn the_members_table_is_aligned_under_a_header() {
        let member = |name: &str, addr: &str, status: &str| MemberView {
            name: name.to_owned(),
            addr: addr.to_owned(),
            status: status.to_owned(),
            generation: 1,
            tags: [("zone".to_owned(), "eu".to_owned())].into(),
        };
        let body = MembersBody {
            population: 2,
            members: vec![
                member("a", "127.0.0.1:7700", "alive"),
                member("node-22", "127.0.0.1:17710", "down"),
            ],
        };
        assert_eq!(
            members_table(&body),
            "NAME     ADDR             STATUS  TAGS\n\
             a        127.0.0.1:7700   alive   zone=eu\n\
             node-22  127.0.0.1:17710  down    zone=eu"
        );
        assert!(has_tags(&body.members[0], &[("zone".into(), "eu".into())]));
        assert!(!has_tags(&body.members[0], &[("zone".into(), "us".into())]));
    }
}
