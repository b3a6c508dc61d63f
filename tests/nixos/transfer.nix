# Two machines declare the same database. A snapshot taken on one is
# exported, piped over ssh into `dysnomia snapshots import` on the other,
# and restored there.
{ ... }:
let
  machine =
    { pkgs, ... }:
    {
      services.postgresql = {
        enable = true;
        package = pkgs.postgresql_16;
      };
      services.dysnomia = {
        enable = true;
        components.postgresql-database.app.sql = ''
          CREATE TABLE greetings (id serial PRIMARY KEY, text text NOT NULL);
          INSERT INTO greetings (text) VALUES ('Hello world');
        '';
      };
      services.openssh.enable = true;
    };
in
{
  name = "dysnomia-transfer";

  nodes.source = machine;
  nodes.target = machine;

  testScript = ''
    import shlex


    def psql(node, sql: str) -> str:
        return node.succeed(
            f"runuser -u postgres -- psql -X -tA -v ON_ERROR_STOP=1 -d app -c {shlex.quote(sql)}"
        ).strip()


    start_all()
    source.wait_for_unit("dysnomia.service")
    target.wait_for_unit("dysnomia.service")
    target.wait_for_unit("sshd.service")

    with subtest("root on source may run commands on target"):
        source.succeed("mkdir -p -m 700 /root/.ssh && ssh-keygen -q -t ed25519 -N ''' -f /root/.ssh/id_ed25519")
        key = source.succeed("cat /root/.ssh/id_ed25519.pub").strip()
        target.succeed(
            f"mkdir -p -m 700 /root/.ssh && echo {shlex.quote(key)} > /root/.ssh/authorized_keys"
            " && chmod 600 /root/.ssh/authorized_keys"
        )
        source.succeed("ssh -o StrictHostKeyChecking=accept-new target true")

    with subtest("snapshot on source"):
        psql(source, "INSERT INTO greetings (text) VALUES ('from source')")
        source.succeed("dysnomia snapshot -C postgresql-database -c app")
        latest = source.succeed("dysnomia snapshots latest -C postgresql-database -c app").strip()
        assert latest.startswith("postgresql-database/app/"), latest
        assert target.succeed(f"dysnomia snapshots print-missing {latest}").strip() == latest

    with subtest("export | ssh target import"):
        source.succeed(
            "set -o pipefail; dysnomia snapshots export -C postgresql-database -c app"
            " | ssh target /run/current-system/sw/bin/dysnomia snapshots import"
        )
        assert target.succeed(f"dysnomia snapshots print-missing {latest}").strip() == ""
        target.succeed("dysnomia snapshots check -C postgresql-database -c app")
        assert target.succeed("dysnomia snapshots latest -C postgresql-database -c app").strip() == latest

    with subtest("restore on target"):
        assert psql(target, "SELECT count(*) FROM greetings") == "1"
        target.succeed("dysnomia restore -C postgresql-database -c app")
        assert psql(target, "SELECT text FROM greetings ORDER BY id") == "Hello world\nfrom source"
  '';
}
