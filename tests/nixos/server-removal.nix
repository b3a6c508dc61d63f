# Removing a database server while Dysnomia stays enabled:
# switch-to-configuration stops the removed PostgreSQL before
# dysnomia.service runs, so the switch cannot snapshot the removed component
# any more. The pre-switch snapshot, taken while the server still ran,
# protects it: the component is retired (garbage, left out of the record),
# and the next switch and the next boot have nothing to do.
{ ... }:
{
  name = "dysnomia-server-removal";

  nodes.machine =
    { lib, ... }:
    {
      services.postgresql.enable = true;
      services.dysnomia = {
        enable = true;
        components.postgresql-database.app.sql = "CREATE TABLE t (x int); INSERT INTO t VALUES (1);";
      };
      specialisation.nopg.configuration = {
        services.postgresql.enable = lib.mkForce false;
        services.dysnomia.components.postgresql-database = lib.mkForce { };
      };
    };

  testScript = ''
    machine.wait_for_unit("dysnomia.service")
    base = machine.succeed("readlink -f /run/current-system").strip()

    with subtest("the switch that removes PostgreSQL retires its component"):
        machine.succeed(f"{base}/specialisation/nopg/bin/switch-to-configuration switch >&2")
        machine.succeed("systemctl is-active dysnomia.service || systemctl show -P Result dysnomia.service | grep -qx success")
        journal = machine.succeed("journalctl -u dysnomia.service -o cat")
        assert "retired" in journal, journal
        assert "postgresql-database/app" not in machine.succeed("dysnomia containers activated")
        assert len(machine.succeed("dysnomia snapshots list -C postgresql-database -c app").split()) == 1

    with subtest("switching again and rebooting have nothing to do"):
        machine.succeed(f"{base}/specialisation/nopg/bin/switch-to-configuration switch >&2")
        machine.succeed("systemctl restart dysnomia.service")
        machine.succeed(f"{base}/specialisation/nopg/bin/switch-to-configuration boot >&2")
        machine.shutdown()
        machine.start()
        machine.wait_for_unit("dysnomia.service")
        assert "nothing to do" in machine.succeed("journalctl -b -u dysnomia.service -o cat")
  '';
}
