# Mirrors the declarations of nixpkgs nixos/modules/system/etc/etc.nix
# (pinned rev): environment.etc, by name, with enable (default true),
# target (default: the name), text (nullOr lines, default null), source (a
# path; from text, pkgs.writeText, with text's priority), mode (default
# "symlink"), uid, gid, user, group.
{
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
in
{
  options.environment.etc = mkOption {
    default = { };
    type = types.attrsOf (
      types.submodule (
        {
          name,
          config,
          options,
          ...
        }:
        {
          options = {
            enable = mkOption {
              type = types.bool;
              default = true;
            };
            target = mkOption { type = types.str; };
            text = mkOption {
              type = types.nullOr types.lines;
              default = null;
            };
            source = mkOption { type = types.path; };
            mode = mkOption {
              type = types.str;
              default = "symlink";
            };
            uid = mkOption {
              type = types.int;
              default = 0;
            };
            gid = mkOption {
              type = types.int;
              default = 0;
            };
            user = mkOption {
              type = types.str;
              default = "+${toString config.uid}";
            };
            group = mkOption {
              type = types.str;
              default = "+${toString config.gid}";
            };
          };
          config = {
            target = lib.mkDefault name;
            source = lib.mkIf (config.text != null) (
              lib.mkDerivedConfig options.text (pkgs.writeText "etc-${baseNameOf name}")
            );
          };
        }
      )
    );
  };
}
