# Mirrors networking.hostName of nixpkgs
# nixos/modules/tasks/network-interfaces.nix (pinned rev): a host name
# (letters, digits, '-' and '_', at most 63), default "nixos".
{ lib, ... }:
{
  options.networking.hostName = lib.mkOption {
    default = "nixos";
    type = lib.types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$";
  };
}
