# Two machines declare the same database. `dysnomia snapshots push` sends
# the source's snapshots to the target (a second push sends nothing), and
# `dysnomia move` cuts the database over: lock, final snapshot, push,
# restore on the target, unlock, deactivate on the source.
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
    import json
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

    with subtest("the target's dysnomia is on its PATH over ssh"):
        source.succeed("ssh target dysnomia version")

    with subtest("push sends what the target lacks, then nothing"):
        psql(source, "INSERT INTO greetings (text) VALUES ('first')")
        source.succeed("dysnomia snapshot -C postgresql-database -c app")
        latest = source.succeed("dysnomia snapshots latest -C postgresql-database -c app").strip()
        assert latest.startswith("postgresql-database/app/"), latest
        assert target.succeed(f"dysnomia snapshots print-missing {latest}").strip() == latest
        first = json.loads(source.succeed("dysnomia snapshots push target -C postgresql-database -c app --json"))
        assert first["sent"] == 1 and first["bytes"] > 0, first
        again = json.loads(source.succeed("dysnomia snapshots push target -C postgresql-database -c app --json"))
        assert again["sent"] == 0 and again["skipped"] == 1 and again["bytes"] == 0, again
        assert target.succeed(f"dysnomia snapshots print-missing {latest}").strip() == ""
        target.succeed("dysnomia snapshots check -C postgresql-database -c app")

    with subtest("move cuts the database over"):
        psql(source, "INSERT INTO greetings (text) VALUES ('last write')")
        assert psql(target, "SELECT count(*) FROM greetings") == "1"
        summary = json.loads(
            source.succeed("dysnomia move -C postgresql-database -c app --to target --deactivate --json")
        )
        assert [s["step"] for s in summary["steps"]] == [
            "check dysnomia on target", "lock", "snapshot", "push to target",
            "activate on target", "restore on target", "unlock", "deactivate",
        ], summary
        want = "Hello world\nfirst\nlast write"
        assert psql(target, "SELECT text FROM greetings ORDER BY id") == want
        assert psql(source, "SELECT text FROM greetings ORDER BY id") == want
        assert target.succeed("dysnomia snapshots latest -C postgresql-database -c app").strip() == summary["snapshot"]
        assert "postgresql-database/app" not in source.succeed("dysnomia containers activated")
        assert "postgresql-database/app" in target.succeed("dysnomia containers activated")

    with subtest("a move to a machine without dysnomia fails before the lock"):
        out = source.fail("dysnomia move -C postgresql-database -c app --to target --remote-dysnomia /nonexistent 2>&1")
        assert "check dysnomia on target" in out and "not found there" in out, out
  '';
}
