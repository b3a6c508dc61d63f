# A switch that changes the PostgreSQL package (15 → 16) snapshots the
# database before the old server stops: `dysnomia system pre-switch` runs
# from system.preSwitchChecks while PostgreSQL 15 still serves. The new
# server starts on an empty cluster (NixOS keeps one data directory per
# major version), and dysnomia.service creates the database by restoring
# the pre-upgrade snapshot, not from the init script: the rows written on
# 15 are on 16 right after the switch, with no restore command.
{ ... }:
{
  name = "dysnomia-postgresql-upgrade";

  nodes.machine =
    { lib, pkgs, ... }:
    {
      services.postgresql = {
        enable = true;
        package = pkgs.postgresql_15;
      };

      services.dysnomia = {
        enable = true;
        snapshots.keep = 5;
        components.postgresql-database.app.sql = ''
          CREATE TABLE greetings (id serial PRIMARY KEY, text text NOT NULL);
          INSERT INTO greetings (text) VALUES ('Hello world');
        '';
      };

      specialisation.pg16.configuration = {
        services.postgresql.package = lib.mkForce pkgs.postgresql_16;
      };
    };

  testScript = ''
    import json
    import shlex


    def psql(sql: str) -> str:
        return machine.succeed(
            f"runuser -u postgres -- psql -X -tA -v ON_ERROR_STOP=1 -d app -c {shlex.quote(sql)}"
        ).strip()


    def snapshots() -> list[dict]:
        return json.loads(
            machine.succeed("dysnomia snapshots list --json -C postgresql-database -c app")
        )["snapshots"]


    machine.wait_for_unit("dysnomia.service")
    base = machine.succeed("readlink -f /run/current-system").strip()

    with subtest("on PostgreSQL 15"):
        assert psql("SHOW server_version_num").startswith("15")
        psql("INSERT INTO greetings (text) VALUES ('written on 15')")
        assert snapshots() == []

    with subtest("the switch to PostgreSQL 16 snapshots the database first"):
        pg15_pid = machine.succeed("systemctl show -P MainPID postgresql.service").strip()
        machine.succeed(f"{base}/specialisation/pg16/bin/switch-to-configuration test >&2")
        taken = snapshots()
        assert len(taken) == 1, taken
        # The old server was stopped by the switch, after the snapshot.
        assert machine.succeed("systemctl show -P MainPID postgresql.service").strip() != pg15_pid
        assert psql("SHOW server_version_num").startswith("16")
        machine.succeed("dysnomia snapshots check -C postgresql-database -c app")

    with subtest("the new server got the data of 15, with no restore command"):
        assert psql("SELECT text FROM greetings ORDER BY id") == "Hello world\nwritten on 15"
        journal = machine.succeed("journalctl -u dysnomia.service -o cat")
        assert "pre-upgrade snapshot" in journal, journal

    with subtest("a second switch leaves it alone"):
        psql("INSERT INTO greetings (text) VALUES ('written on 16')")
        machine.succeed("systemctl restart dysnomia.service")
        assert psql("SELECT count(*) FROM greetings") == "3"
  '';
}
