# The docker-container module against a real Docker engine, driven with
# Disnix's command line: an image built with dockerTools, loaded, run with
# the component's create parameters, and removed again (stateless); a
# stateful deployment keeps its container until collect-garbage; and
# dockerContainerName names the container.
{ ... }:
{
  name = "dysnomia-docker-container";

  nodes.machine =
    { pkgs, ... }:
    let
      image = pkgs.dockerTools.buildImage {
        name = "dysnomia-web";
        tag = "test";
        copyToRoot = [ pkgs.busybox ];
        config.Cmd = [ "httpd" "-f" "-p" "80" "-h" "/etc" ];
      };
      component =
        name: settings: port:
        pkgs.runCommand name { } ''
          mkdir -p $out
          cat > $out/${name}-docker-settings <<EOF
          dockerImage=${image}
          dockerImageTag=dysnomia-web:test
          ${settings}
          EOF
          printf '%s\n' -p 127.0.0.1:${toString port}:80 > $out/${name}-docker-createparams
        '';
    in
    {
      virtualisation.docker.enable = true;
      virtualisation.diskSize = 4096;
      services.dysnomia.enable = true;
      environment.etc."dysnomia-test/components".text = ''
        web=${component "web" "" 8080}
        kept=${component "kept" "dockerStatelessDeployment=0\ndockerContainerName=kept-web" 8081}
      '';
    };

  testScript = ''
    components = dict(
        line.split("=", 1)
        for line in machine.succeed("cat /etc/dysnomia-test/components").split()
    )


    def disnix(op: str, name: str) -> None:
        machine.succeed(
            f"dysnomia --type docker-container --operation {op} "
            f"--component {components[name]} --container docker-container --environment >&2"
        )


    machine.wait_for_unit("docker.service")

    with subtest("stateless: loaded, created, started; removed with its image"):
        disnix("activate", "web")
        machine.wait_for_open_port(8080)
        machine.succeed("curl -sf http://127.0.0.1:8080/hostname >&2")
        assert machine.succeed("docker container inspect -f '{{.State.Running}}' dysnomia-web").strip() == "true"
        disnix("activate", "web")  # exists: started, not created again
        machine.succeed("test $(docker ps -aq -f name=^dysnomia-web$ | wc -l) = 1")
        disnix("deactivate", "web")
        machine.fail("docker container inspect dysnomia-web")
        machine.fail("docker image inspect dysnomia-web:test")
        machine.fail("dysnomia containers activated | grep -q docker-container")

    with subtest("stateful, with a container name: kept until collect-garbage"):
        disnix("activate", "kept")
        machine.wait_for_open_port(8081)
        machine.succeed("dysnomia containers activated | grep -qx 'docker-container/kept'")
        disnix("deactivate", "kept")
        machine.wait_for_closed_port(8081)
        assert machine.succeed("docker container inspect -f '{{.State.Running}}' kept-web").strip() == "false"
        disnix("collect-garbage", "kept")
        machine.fail("docker container inspect kept-web")
  '';
}
