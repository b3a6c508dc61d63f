# The systemd-unit module against real systemd, driven with Disnix's command
# line: a web server running as an account the component declares (created
# before the start, deleted after the stop), a timer-activated oneshot (the
# timer is what starts), and a user unit in a user's own service manager
# (systemctl --user in every call).
{ ... }:
{
  name = "dysnomia-systemd-unit";

  nodes.machine =
    { pkgs, ... }:
    let
      web = pkgs.runCommand "web" { } ''
        mkdir -p $out/etc/systemd/system $out/dysnomia-support/users $out/dysnomia-support/groups
        cat > $out/etc/systemd/system/dysnomia-web.service <<EOF
        [Unit]
        Description=Web server deployed by Dysnomia
        [Service]
        User=dysnomiaweb
        ExecStart=${pkgs.python3}/bin/python3 -m http.server 8000 --bind 127.0.0.1 --directory ${pkgs.hello}/share
        EOF
        echo group=dysnomiaweb > $out/dysnomia-support/users/dysnomiaweb
        touch $out/dysnomia-support/groups/dysnomiaweb
      '';
      tick = pkgs.runCommand "tick" { } ''
        mkdir -p $out/etc/systemd/system
        cat > $out/etc/systemd/system/dysnomia-tick.service <<EOF
        [Service]
        Type=oneshot
        ExecStart=${pkgs.coreutils}/bin/touch /tmp/ticked
        EOF
        cat > $out/etc/systemd/system/dysnomia-tick.timer <<EOF
        [Timer]
        OnActiveSec=1s
        OnUnitActiveSec=2s
        EOF
      '';
      sleeper = pkgs.runCommand "sleeper" { } ''
        mkdir -p $out/etc/systemd/system
        cat > $out/etc/systemd/system/dysnomia-sleep.service <<EOF
        [Service]
        ExecStart=${pkgs.coreutils}/bin/sleep infinity
        EOF
      '';
    in
    {
      services.dysnomia.enable = true;
      # The module makes /etc/systemd-mutable/system a unit directory.
      systemd.tmpfiles.rules = [ "d /etc/systemd-mutable/system 0755 root root -" ];
      users.users.alice = {
        isNormalUser = true;
        uid = 1000;
      };
      environment.etc."dysnomia-test/components".text = ''
        web=${web}
        tick=${tick}
        sleeper=${sleeper}
      '';
    };

  testScript = ''
    components = dict(
        line.split("=", 1)
        for line in machine.succeed("cat /etc/dysnomia-test/components").split()
    )


    def disnix(op: str, name: str, env: str = "") -> None:
        machine.succeed(
            f"{env} dysnomia --type systemd-unit --operation {op} "
            f"--component {components[name]} --container systemd-unit --environment >&2"
        )


    machine.wait_for_unit("multi-user.target")

    with subtest("a service with its own account starts and stops"):
        disnix("activate", "web")
        machine.wait_for_unit("dysnomia-web.service")
        machine.wait_for_open_port(8000)
        machine.succeed("curl -sf http://127.0.0.1:8000/ >&2")
        machine.succeed("pgrep -u dysnomiaweb -f http.server")
        machine.succeed("test -L /etc/systemd-mutable/system/dysnomia.target.wants/dysnomia-web.service")
        disnix("activate", "web")  # again: nothing breaks
        machine.succeed("systemctl is-active dysnomia-web.service")
        disnix("deactivate", "web")
        machine.wait_for_closed_port(8000)
        machine.fail("systemctl is-active dysnomia-web.service")
        machine.fail("id dysnomiaweb")
        machine.fail("test -e /etc/systemd-mutable/system/dysnomia-web.service")

    with subtest("a timer is started instead of its service"):
        disnix("activate", "tick")
        machine.succeed("systemctl is-active dysnomia-tick.timer")
        machine.wait_for_file("/tmp/ticked")
        machine.succeed("test -L /etc/systemd-mutable/system/dysnomia.target.wants/dysnomia-tick.timer")
        machine.fail("test -e /etc/systemd-mutable/system/dysnomia.target.wants/dysnomia-tick.service")
        disnix("deactivate", "tick")
        machine.fail("systemctl is-active dysnomia-tick.timer")

    with subtest("user services use the user's manager throughout"):
        machine.succeed("loginctl enable-linger alice")
        machine.wait_for_unit("user@1000.service")
        user_env = "XDG_RUNTIME_DIR=/run/user/1000 DYSNOMIA_STATEDIR=/home/alice/.dysnomia systemdUserServices=1"
        cmd = (
            f"dysnomia --type systemd-unit --operation {{}} --component {components['sleeper']} "
            "--container systemd-unit --environment"
        )
        machine.succeed(f"su - alice -c '{user_env} {cmd.format('activate')}' >&2")
        machine.succeed("su - alice -c 'XDG_RUNTIME_DIR=/run/user/1000 systemctl --user is-active dysnomia-sleep.service'")
        machine.succeed("test -L /home/alice/.config/systemd/user/dysnomia.target.wants/dysnomia-sleep.service")
        machine.succeed(f"su - alice -c '{user_env} {cmd.format('deactivate')}' >&2")
        machine.fail("su - alice -c 'XDG_RUNTIME_DIR=/run/user/1000 systemctl --user is-active dysnomia-sleep.service'")
        machine.fail("systemctl is-active dysnomia-sleep.service")
  '';
}
