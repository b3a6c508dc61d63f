# Mirrors nixpkgs nixos/modules/system/activation/pre-switch-check.nix as of
# nixpkgs 25.05 and later (read at 39d144e1, the version at the pinned
# rev): system.preSwitchChecks (attrsOf str, default { }) and the internal
# read-only system.preSwitchChecksScript, a writeShellApplication (so bash
# with errexit, nounset and pipefail, checked by shellcheck) that runs each
# check in a subshell with the script's arguments: switch-to-configuration
# calls it as `pre-switch-checks NEW_TOPLEVEL ACTION`. (nixpkgs 24.11 had
# no preSwitchChecksScript: the option's apply added a writeShellScript
# `script`, called with NEW_TOPLEVEL alone and the action in NIXOS_ACTION.)
# The check text below is the same shape as nixpkgs' so that tests/nix can
# run it.
{
  lib,
  config,
  pkgs,
  ...
}:
let
  preSwitchCheckScript = lib.concatLines (
    lib.mapAttrsToList (name: text: ''
      # pre-switch check ${name}
      if ! (
        ${text}
      ) >&2 ; then
        echo "Pre-switch check '${name}' failed" >&2
        exit 1
      fi
    '') config.system.preSwitchChecks
  );
in
{
  options.system.preSwitchChecksScript = lib.mkOption {
    type = lib.types.pathInStore;
    internal = true;
    readOnly = true;
    default = lib.getExe (
      pkgs.writeShellApplication {
        name = "pre-switch-checks";
        text = preSwitchCheckScript;
      }
    );
  };

  options.system.preSwitchChecks = lib.mkOption {
    default = { };
    type = lib.types.attrsOf lib.types.str;
  };
}
