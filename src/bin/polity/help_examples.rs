//! The examples each command's `--help` ends with.

/// `polity agent`.
pub const AGENT: &str = "\
Examples:
  # The first node of a cluster, and another that joins it
  polity agent --name a --bind 10.0.0.1:7700
  polity agent --name b --bind 10.0.0.2:7700 --join 10.0.0.1:7700
  # Join through a DNS name (every address it resolves to, tried again every 5 s)
  polity agent --name c --bind 0.0.0.0:7700 --join polity.internal:7700
  # Over IPv6, with tags
  polity agent --name d --bind [fd00::4]:7700 --join [fd00::1]:7700 --tag zone=eu-1
  # Flags from a file; a flag given overrides its key
  polity agent --config /etc/polity/polity.toml --log-format json
  polity agent --config /etc/polity/polity.toml --print-config";

/// `polity elect`.
pub const ELECT: &str = "\
Examples:
  polity elect scheduler
  polity elect scheduler --value 10.0.0.5:8080 --json
  polity elect scheduler --http 127.0.0.1:7701 --http-token-file /etc/polity/api-token";

/// `polity proclaim`.
pub const PROCLAIM: &str = "\
Examples:
  # Tell every member where the scheduler listens now, without an election
  polity proclaim scheduler 10.0.0.5:9090
  polity query scheduler     # scheduler a 1796647908266226 held 10.0.0.5:9090";

/// `polity resign`.
pub const RESIGN: &str = "\
Examples:
  polity resign scheduler
  polity resign scheduler || echo 'not held here'
  # Hand it to node-b for maintenance here (node-b must campaign for it)
  polity resign scheduler --to node-b";

/// `polity recall`.
pub const RECALL: &str = "\
Examples:
  # Vacate the role wherever it is held, for instance from a node that hangs
  polity recall scheduler";

/// `polity query`.
pub const QUERY: &str = "\
Examples:
  polity query scheduler
  polity query scheduler --json
  if polity query scheduler > /dev/null; then echo held; fi";

/// `polity watch`.
pub const WATCH: &str = "\
Examples:
  polity watch scheduler
  polity watch scheduler --json";

/// `polity members`.
pub const MEMBERS: &str = "\
Examples:
  polity members
  polity members --tag zone=eu-1 --tag tier=db
  polity members --json";

/// `polity roles`.
pub const ROLES: &str = "\
Examples:
  polity roles
  polity roles --json";

/// `polity force-leave`.
pub const FORCE_LEAVE: &str = "\
Examples:
  # Stop counting node c, whose host is gone for good
  polity force-leave c";

/// `polity keygen`.
pub const KEYGEN: &str = "\
Examples:
  polity keygen > new-key
  polity keygen --json";

/// `polity keys`.
pub const KEYS: &str = "\
Examples:
  # Rotate the cluster's key: install everywhere, then seal with it, then drop the old one
  polity keygen > new-key
  polity keys install --key-file new-key
  polity keys use --key-file new-key
  polity keys list
  polity keys remove --key-file old-key";

/// `polity tags`.
pub const TAGS: &str = "\
Examples:
  polity tags
  polity tags --set zone=eu-2 --set tier=db
  polity tags --delete tier";

/// `polity completions`.
pub const COMPLETIONS: &str = "\
Examples:
  polity completions bash > /etc/bash_completion.d/polity
  polity completions zsh > \"${fpath[1]}/_polity\"
  polity completions fish > ~/.config/fish/completions/polity.fish";

/// `polity man`.
pub const MAN: &str = "\
Examples:
  polity man | man -l -
  polity man > /usr/local/share/man/man1/polity.1";
