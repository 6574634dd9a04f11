//! `polity members`: the members the agent knows, `NAME ADDR STATUS`.

use std::process::ExitCode;

use crate::api::MembersBody;
use crate::client::output::{Answer, answer, refused, show, table};

use super::ClientArgs;

/// Runs `polity members`.
pub fn run(args: ClientArgs) -> ExitCode {
    let client = match args.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    match answer::<MembersBody>(&args.http, client.get("/members")) {
        Ok(Answer::Done(members, raw)) => {
            show(args.json, &members, &raw, members_table);
            ExitCode::SUCCESS
        }
        Ok(Answer::Refused(error, raw)) => refused(args.json, &error, &raw, &[]),
        Err(code) => code,
    }
}

/// `NAME ADDR STATUS`, aligned, with a header.
fn members_table(body: &MembersBody) -> String {
    let rows: Vec<Vec<&str>> = std::iter::once(vec!["NAME", "ADDR", "STATUS"])
        .chain(
            body.members
                .iter()
                .map(|m| vec![m.name.as_str(), m.addr.as_str(), m.status.as_str()]),
        )
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
            "NAME     ADDR             STATUS\n\
             a        127.0.0.1:7700   alive\n\
             node-22  127.0.0.1:17710  down"
        );
    }
}
