# A stand-in for nixpkgs' lib, with builtins only, so that tests/nix can
# evaluate the NixOS module (nixos-module/default.nix) together with stubs
# of the nixpkgs modules it meets (./modules) on a machine without nixpkgs.
#
# It is this project's code. It carries over the behaviour of nixpkgs'
# lib/modules.nix, lib/options.nix and lib/types.nix (nixpkgs-unstable near
# rev 13043924aaa7375ce482ebe2494338e058282925) that a NixOS configuration
# meets, and the messages users see:
#   - modules: files, functions and attribute sets; imports; disabledModules
#     (strings relative to modulesPath, matched like nixpkgs, together with
#     the disabled module's own imports); shorthand modules; the check that
#     a module with `config` or `options` has no other attribute;
#   - declarations: nested option trees; a second declaration of an option
#     is an error; `readOnly`, `apply`, `default`, `freeformType`;
#   - definitions: mkIf (conditions are evaluated only at the option, so a
#     definition under a false mkIf of an option that does not exist is
#     still an error, as in nixpkgs), mkMerge, mkOverride and its
#     mkDefault/mkForce/mkOptionDefault, mkOrder (mkBefore/mkAfter); every
#     definition of an option that does not exist is an error naming it;
#   - types: the ones used here, with nixpkgs' check and merge rules
#     (mergeEqualOption for str, bool, int, path, enum; mergeOneOption for
#     package; concatenation for lists and lines; per-attribute merge for
#     attrsOf; submodules evaluated as module systems of their own, with
#     `name`; coercedTo, either/oneOf, nullOr);
#   - mkRenamedOptionModule, mkAliasOptionModule, mkRemovedOptionModule,
#     mkChangedOptionModule, mkDerivedConfig.
# What it leaves out (documentation, option priorities in messages,
# definition positions, _module.args) nothing here relies on.
let
  inherit (builtins)
    all
    any
    attrNames
    attrValues
    concatLists
    concatStringsSep
    elem
    elemAt
    filter
    foldl'
    genList
    head
    isAttrs
    isBool
    isFloat
    isFunction
    isInt
    isList
    isPath
    isString
    length
    listToAttrs
    mapAttrs
    match
    removeAttrs
    stringLength
    substring
    tail
    toJSON
    typeOf
    ;

  lib = rec {
    inherit
      all
      any
      attrNames
      attrValues
      concatLists
      concatStringsSep
      elem
      elemAt
      filter
      foldl'
      genList
      head
      isAttrs
      isBool
      isFloat
      isFunction
      isInt
      isList
      isPath
      isString
      length
      listToAttrs
      mapAttrs
      removeAttrs
      tail
      ;
    inherit (builtins) replaceStrings toString typeOf hasAttr getAttr zipAttrsWith trace seq;

    # --- lists, attribute sets, strings -------------------------------------
    id = x: x;
    const = x: _: x;
    min = a: b: if a < b then a else b;
    last = l: elemAt l (length l - 1);
    toList = x: if isList x then x else [ x ];
    optional = c: x: if c then [ x ] else [ ];
    optionals = c: xs: if c then xs else [ ];
    optionalAttrs = c: a: if c then a else { };
    optionalString = c: s: if c then s else "";
    concatMap = f: l: concatLists (map f l);
    imap1 = f: l: genList (i: f (i + 1) (elemAt l i)) (length l);
    imap0 = f: l: genList (i: f i (elemAt l i)) (length l);
    unique = foldl' (acc: e: if elem e acc then acc else acc ++ [ e ]) [ ];
    flatten = x: if isList x then concatMap flatten x else [ x ];
    drop = n: l: genList (i: elemAt l (i + n)) (length l - n);
    nameValuePair = name: value: { inherit name value; };
    mapAttrsToList = f: a: map (n: f n a.${n}) (attrNames a);
    mapAttrs' = f: a: listToAttrs (mapAttrsToList f a);
    filterAttrs = p: a: listToAttrs (concatMap (n: if p n a.${n} then [ (nameValuePair n a.${n}) ] else [ ]) (attrNames a));
    genAttrs = names: f: listToAttrs (map (n: nameValuePair n (f n)) names);
    recursiveUpdate =
      lhs: rhs:
      lhs
      // mapAttrs (
        n: v: if isAttrs v && isAttrs (lhs.${n} or null) && !(isDerivation v) then recursiveUpdate lhs.${n} v else v
      ) rhs;
    setAttrByPath = path: v: if path == [ ] then v else { ${head path} = setAttrByPath (tail path) v; };
    attrByPath =
      path: default: set:
      if path == [ ] then
        set
      else if isAttrs set && set ? ${head path} then
        attrByPath (tail path) default set.${head path}
      else
        default;
    hasAttrByPath = path: set: attrByPath path null set != null || (attrByPath path 1 set) != 1;
    getAttrFromPath =
      path: set:
      attrByPath path (throw "cannot find attribute `${concatStringsSep "." path}'") set;
    concatMapStrings = f: l: concatStringsSep "" (map f l);
    concatMapStringsSep = sep: f: l: concatStringsSep sep (map f l);
    concatImapStrings = f: l: concatStringsSep "" (imap1 f l);
    concatStrings = concatStringsSep "";
    concatLines = concatMapStrings (s: s + "\n");
    hasPrefix = p: s: substring 0 (stringLength p) s == p;
    hasSuffix =
      p: s:
      let
        n = stringLength s;
        m = stringLength p;
      in
      n >= m && substring (n - m) m s == p;
    hasInfix = i: s: match ".*${escapeRegex i}.*" s != null;
    escapeRegex = builtins.replaceStrings
      [ "\\" "[" "]" "{" "}" "(" ")" "^" "$" "." "|" "*" "+" "?" ]
      [ "\\\\" "\\[" "\\]" "\\{" "\\}" "\\(" "\\)" "\\^" "\\$" "\\." "\\|" "\\*" "\\+" "\\?" ];
    removeSuffix = p: s: if hasSuffix p s then substring 0 (stringLength s - stringLength p) s else s;
    removePrefix = p: s: if hasPrefix p s then substring (stringLength p) (stringLength s) s else s;
    splitString = sep: s: filter isString (builtins.split (escapeRegex sep) s);
    fixedWidthString =
      width: filler: str:
      if stringLength str >= width then str else fixedWidthString width filler (filler + str);
    fixedWidthNumber = width: n: fixedWidthString width "0" (toString n);
    escapeShellArg =
      arg:
      let
        s = toString arg;
      in
      if match "[[:alnum:],._+:@%/-]+" s == null then "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] s}'" else s;
    escapeShellArgs = concatMapStringsSep " " escapeShellArg;
    versionAtLeast = a: b: builtins.compareVersions a b >= 0;
    versionOlder = a: b: builtins.compareVersions a b < 0;
    warn = msg: v: builtins.trace "warning: ${msg}" v;
    warnIf = c: msg: v: if c then warn msg v else v;
    isDerivation = x: isAttrs x && x.type or null == "derivation";
    isStringLike = x: isString x || isPath x || (isAttrs x && (x ? outPath || x ? __toString));
    isStorePath =
      x:
      isStringLike x
      && (
        let
          s = toString x;
        in
        hasPrefix "${builtins.storeDir}/" s && match "[^/]+" (removePrefix "${builtins.storeDir}/" s) != null
      );
    makeBinPath = l: concatMapStringsSep ":" (p: "${p}/bin") l;
    getExe = drv: "${drv}/bin/${drv.meta.mainProgram or drv.pname or drv.name}";
    literalExpression = text: {
      _type = "literalExpression";
      inherit text;
    };
    literalMD = text: {
      _type = "literalMD";
      inherit text;
    };
    mdDoc = x: x;

    # --- options and properties ---------------------------------------------
    mkOption = attrs: attrs // { _type = "option"; };
    isOption = x: isAttrs x && x._type or "" == "option";
    isType = t: x: isAttrs x && x._type or "" == t;
    mkEnableOption =
      name:
      mkOption {
        default = false;
        example = true;
        type = types.bool;
        description = "Whether to enable ${name}.";
      };
    mkPackageOption =
      pkgs: name:
      {
        default ? name,
        example ? null,
        nullable ? false,
        ...
      }:
      let
        path = if isList default then default else [ default ];
      in
      mkOption {
        type = if nullable then types.nullOr types.package else types.package;
        default = attrByPath path (throw "pkgs.${concatStringsSep "." path} does not exist") pkgs;
        description = "The ${name} package to use.";
      };

    mkIf = condition: content: {
      _type = "if";
      inherit condition content;
    };
    mkMerge = contents: {
      _type = "merge";
      inherit contents;
    };
    mkOverride = priority: content: {
      _type = "override";
      inherit priority content;
    };
    defaultOverridePriority = 100;
    mkOptionDefault = mkOverride 1500;
    mkDefault = mkOverride 1000;
    mkImageMediaOverride = mkOverride 60;
    mkForce = mkOverride 50;
    mkVMOverride = mkOverride 10;
    mkOrder = priority: content: {
      _type = "order";
      inherit priority content;
    };
    defaultOrderPriority = 1000;
    mkBefore = mkOrder 500;
    mkAfter = mkOrder 1500;
    mkDerivedConfig = opt: f: mkOverride (opt.highestPrio or defaultOverridePriority) (f opt.value);

    showOption =
      parts:
      concatMapStringsSep "." (
        p: if match "[a-zA-Z_][a-zA-Z0-9_'-]*" p != null || hasPrefix "<" p || hasPrefix "[" p then p else toJSON p
      ) parts;
    showFiles = files: concatMapStringsSep " and " (f: "`${toString f}'") files;
    showVal =
      v:
      if isString v then
        toJSON v
      else if isBool v || isInt v || isFloat v || v == null then
        toJSON v
      else if isDerivation v then
        "<derivation ${v.name or ""}>"
      else if isAttrs v then
        "{ ${concatMapStringsSep " " (n: "${n} = ...;") (attrNames v)} }"
      else if isList v then
        "[ ${concatMapStringsSep " " showVal v} ]"
      else
        "<${typeOf v}>";
    showDefs = defs: concatMapStrings (d: "\n- In `${toString d.file}': ${showVal d.value}") defs;

    # --- merging definitions (lib/modules.nix) -------------------------------
    dischargeProperties =
      def:
      if def._type or "" == "merge" then
        concatMap dischargeProperties def.contents
      else if def._type or "" == "if" then
        (
          if isBool def.condition then
            (if def.condition then dischargeProperties def.content else [ ])
          else
            throw "‘mkIf’ called with a non-Boolean condition"
        )
      else
        [ def ];

    filterOverrides' =
      defs:
      let
        getPrio = def: if def.value._type or "" == "override" then def.value.priority else defaultOverridePriority;
        highestPrio = foldl' (prio: def: min (getPrio def) prio) 9999 defs;
        strip = def: if def.value._type or "" == "override" then def // { value = def.value.content; } else def;
      in
      {
        values = concatMap (def: if getPrio def == highestPrio then [ (strip def) ] else [ ]) defs;
        inherit highestPrio;
      };
    filterOverrides = defs: (filterOverrides' defs).values;

    sortProperties =
      defs:
      let
        strip = def: if def.value._type or "" == "order" then def // { value = def.value.content; inherit (def.value) priority; } else def;
        prio = def: def.priority or defaultOrderPriority;
      in
      builtins.sort (a: b: prio a < prio b) (map strip defs);

    mergeDefinitions = loc: type: defs: rec {
      defsFinal' =
        let
          discharged = concatMap (m: map (value: { inherit (m) file; inherit value; }) (dischargeProperties m.value)) defs;
          filtered = filterOverrides' discharged;
          ordered =
            if any (def: def.value._type or "" == "order") filtered.values then
              map (d: removeAttrs d [ "priority" ]) (sortProperties filtered.values)
            else
              filtered.values;
        in
        {
          values = ordered;
          inherit (filtered) highestPrio;
        };
      defsFinal = defsFinal'.values;
      isDefined = defsFinal != [ ];
      mergedValue =
        if isDefined then
          (
            if all (def: type.check def.value) defsFinal then
              type.merge loc defsFinal
            else
              throw "A definition for option `${showOption loc}' is not of type `${type.description}'. Definition values:${
                showDefs (filter (def: !type.check def.value) defsFinal)
              }"
          )
        else
          throw "The option `${showOption loc}' is used but not defined.";
      optionalValue = if isDefined then { value = mergedValue; } else { };
    };

    getValues = map (d: d.value);
    getFiles = map (d: d.file);
    mergeEqualOption =
      loc: defs:
      if length defs == 1 then
        (head defs).value
      else
        (foldl' (
          first: def:
          if def.value != first.value then
            throw "The option `${showOption loc}' has conflicting definition values:${showDefs [ first def ]}"
          else
            first
        ) (head defs) (tail defs)).value;
    mergeOneOption =
      loc: defs:
      if length defs == 1 then
        (head defs).value
      else
        throw "The option `${showOption loc}' is defined multiple times while it's expected to be unique.\nDefinition values:${showDefs defs}";
    mergeDefaultOption =
      loc: defs:
      let
        list = getValues defs;
      in
      if length list == 1 then
        head list
      else if all isFunction list then
        x: mergeDefaultOption loc (map (d: d // { value = d.value x; }) defs)
      else if all isList list then
        concatLists list
      else if all isAttrs list then
        foldl' (a: b: a // b) { } list
      else if all isBool list then
        any id list
      else if all isString list then
        concatStrings list
      else if all isInt list && all (x: x == head list) list then
        head list
      else
        throw "Cannot merge definitions of `${showOption loc}'. Definition values:${showDefs defs}";

    # --- types (lib/types.nix) ------------------------------------------------
    mkOptionType =
      {
        name,
        description ? name,
        check ? (x: true),
        merge ? mergeDefaultOption,
        nestedTypes ? { },
        ...
      }@attrs:
      attrs
      // {
        _type = "option-type";
        inherit
          name
          description
          check
          merge
          nestedTypes
          ;
      };

    types = rec {
      unspecified = mkOptionType { name = "unspecified"; };
      raw = mkOptionType {
        name = "raw";
        merge = mergeOneOption;
      };
      anything = mkOptionType {
        name = "anything";
        merge =
          loc: defs:
          let
            vs = getValues defs;
          in
          if all isAttrs vs && !(any isDerivation vs) then
            (attrsOf anything).merge loc defs
          else if all isList vs then
            concatLists vs
          else
            mergeEqualOption loc defs;
      };
      bool = mkOptionType {
        name = "bool";
        description = "boolean";
        check = isBool;
        merge = mergeEqualOption;
      };
      int = mkOptionType {
        name = "int";
        description = "signed integer";
        check = isInt;
        merge = mergeEqualOption;
      };
      ints = {
        between =
          lo: hi:
          int
          // {
            name = "intBetween";
            description = "integer between ${toString lo} and ${toString hi} (both inclusive)";
            check = x: isInt x && x >= lo && x <= hi;
          };
        unsigned = int // {
          name = "unsignedInt";
          description = "unsigned integer, meaning >=0";
          check = x: isInt x && x >= 0;
        };
        positive = int // {
          name = "positiveInt";
          description = "positive integer, meaning >0";
          check = x: isInt x && x > 0;
        };
        u16 = ints.between 0 65535;
      };
      port = ints.u16;
      float = mkOptionType {
        name = "float";
        check = isFloat;
        merge = mergeEqualOption;
      };
      number = either int float;
      str = mkOptionType {
        name = "str";
        description = "string";
        check = isString;
        merge = mergeEqualOption;
      };
      nonEmptyStr = str // {
        check = x: isString x && match "[ \t\n]*" x == null;
      };
      strMatching =
        pattern:
        str
        // {
          description = "string matching the pattern ${pattern}";
          check = x: isString x && match pattern x != null;
        };
      separatedString =
        sep:
        mkOptionType {
          name = "separatedString";
          description = "strings concatenated with ${toJSON sep}";
          check = isString;
          merge = loc: defs: concatStringsSep sep (getValues defs);
        };
      lines = separatedString "\n" // {
        name = "lines";
      };
      commas = separatedString ",";
      path = mkOptionType {
        name = "path";
        check = x: isStringLike x && substring 0 1 (toString x) == "/";
        merge = mergeEqualOption;
      };
      pathInStore = path // {
        name = "pathInStore";
        check = x: isStringLike x && hasPrefix "${builtins.storeDir}/" (toString x);
      };
      package = mkOptionType {
        name = "package";
        check = x: isDerivation x || isStorePath x;
        merge = mergeOneOption;
      };
      attrs = mkOptionType {
        name = "attrs";
        description = "attribute set";
        check = isAttrs;
        merge = loc: foldl' (res: def: res // def.value) { };
      };
      enum =
        values:
        mkOptionType {
          name = "enum";
          description = "one of ${concatMapStringsSep ", " toJSON values}";
          check = x: elem x values;
          merge = mergeEqualOption;
        };
      listOf =
        elemType:
        mkOptionType {
          name = "listOf";
          description = "list of ${elemType.description}";
          check = isList;
          merge =
            loc: defs:
            map (x: x.value) (
              filter (x: x ? value) (
                concatLists (
                  imap1 (
                    n: def:
                    imap1 (
                      m: v:
                      (mergeDefinitions (loc ++ [ "[definition ${toString n}-entry ${toString m}]" ]) elemType [
                        {
                          inherit (def) file;
                          value = v;
                        }
                      ]).optionalValue
                    ) def.value
                  ) defs
                )
              )
            );
          nestedTypes.elemType = elemType;
        };
      attrsOf =
        elemType:
        mkOptionType {
          name = "attrsOf";
          description = "attribute set of ${elemType.description}";
          check = isAttrs;
          merge =
            loc: defs:
            mapAttrs (n: v: v.value) (
              filterAttrs (n: v: v ? value) (
                zipAttrsWith (name: defs: (mergeDefinitions (loc ++ [ name ]) elemType defs).optionalValue) (
                  map (
                    def:
                    mapAttrs (n: v: {
                      inherit (def) file;
                      value = v;
                    }) def.value
                  ) defs
                )
              )
            );
          nestedTypes.elemType = elemType;
        };
      lazyAttrsOf = attrsOf;
      uniq =
        elemType:
        elemType
        // {
          merge = mergeOneOption;
        };
      unique = { message }: uniq;
      functionTo =
        elemType:
        mkOptionType {
          name = "functionTo";
          description = "function that evaluates to a(n) ${elemType.description}";
          check = isFunction;
          merge =
            loc: defs: fnArgs:
            (mergeDefinitions (loc ++ [ "<function body>" ]) elemType (
              map (fn: {
                inherit (fn) file;
                value = fn.value fnArgs;
              }) defs
            )).mergedValue;
        };
      nullOr =
        elemType:
        mkOptionType {
          name = "nullOr";
          description = "null or ${elemType.description}";
          check = x: x == null || elemType.check x;
          merge =
            loc: defs:
            let
              nulls = length (filter (d: d.value == null) defs);
            in
            if nulls == length defs then
              null
            else if nulls != 0 then
              throw "The option `${showOption loc}' is defined both null and not null, in ${showFiles (getFiles defs)}."
            else
              elemType.merge loc defs;
          nestedTypes.elemType = elemType;
        };
      either =
        t1: t2:
        mkOptionType {
          name = "either";
          description = "${t1.description} or ${t2.description}";
          check = x: t1.check x || t2.check x;
          merge =
            loc: defs:
            let
              vs = getValues defs;
            in
            if all t1.check vs then
              t1.merge loc defs
            else if all t2.check vs then
              t2.merge loc defs
            else
              mergeOneOption loc defs;
        };
      oneOf = ts: foldl' either (head ts) (tail ts);
      coercedTo =
        coercedType: coerceFunc: finalType:
        mkOptionType {
          name = "coercedTo";
          description = "${finalType.description} or ${coercedType.description} convertible to it";
          check = x: (coercedType.check x && finalType.check (coerceFunc x)) || finalType.check x;
          merge =
            loc: defs:
            finalType.merge loc (
              map (def: def // { value = if coercedType.check def.value then coerceFunc def.value else def.value; }) defs
            );
          nestedTypes = { inherit coercedType finalType; };
        };
      submoduleWith =
        {
          modules,
          specialArgs ? { },
          shorthandOnlyDefinesConfig ? false,
          description ? "submodule",
        }:
        mkOptionType {
          name = "submodule";
          inherit description;
          check = x: isAttrs x || isFunction x || path.check x;
          merge =
            loc: defs:
            (evalModules {
              modules =
                modules
                ++ map (
                  def:
                  if isAttrs def.value && shorthandOnlyDefinesConfig then
                    {
                      _file = def.file;
                      config = def.value;
                    }
                  else
                    {
                      _file = def.file;
                      imports = [ def.value ];
                    }
                ) defs;
              specialArgs = specialArgs // {
                name = last loc;
              };
              prefix = loc;
            }).config;
          getSubOptions =
            prefix:
            (evalModules {
              inherit modules prefix;
              specialArgs = specialArgs // {
                name = "<name>";
              };
            }).options;
        };
      submodule =
        modules:
        submoduleWith {
          shorthandOnlyDefinesConfig = true;
          modules = toList modules;
        };
    };

    # --- the module system (lib/modules.nix) ----------------------------------
    pushDownProperties =
      cfg:
      if cfg._type or "" == "merge" then
        concatMap pushDownProperties cfg.contents
      else if cfg._type or "" == "if" then
        map (mapAttrs (n: v: mkIf cfg.condition v)) (pushDownProperties cfg.content)
      else if cfg._type or "" == "override" then
        map (mapAttrs (n: v: mkOverride cfg.priority v)) (pushDownProperties cfg.content)
      else
        [ cfg ];

    # The attributes a module may have besides its options or config.
    moduleKeys = [
      "_file"
      "_class"
      "key"
      "disabledModules"
      "imports"
      "options"
      "config"
      "meta"
      "freeformType"
    ];

    unifyModule =
      file: key: m:
      let
        explicit = m ? config || m ? options;
        extra = filter (n: !(elem n moduleKeys)) (attrNames m);
      in
      if explicit && extra != [ ] then
        throw "Module `${key}' has an unsupported attribute `${head extra}'. This is caused by introducing a top-level `config' or `options' attribute. Add configuration attributes immediately on the top level instead, or move all of them (namely: ${concatStringsSep " " extra}) into the explicit `config' attribute."
      else
        {
          inherit file key;
          imports = m.imports or [ ];
          disabledModules = m.disabledModules or [ ];
          options = m.options or { };
          config = if explicit then m.config or { } else removeAttrs m moduleKeys;
          freeformType = m.freeformType or null;
        };

    # One module of the closure: load (import a file, call a function) and
    # normalise it. The key of a file is its path, as in nixpkgs.
    loadModule =
      args: parentFile: parentKey: i: m:
      let
        isFile = isPath m || isString m;
        value = if isFile then import m else m;
        called = if isFunction value then value args else value;
        key =
          if called ? key then
            toString called.key
          else if isFile then
            toString m
          else
            "${parentKey}:anon-${toString i}";
        file = if isFile then toString m else called._file or parentFile;
      in
      {
        inherit key;
        module = unifyModule file key called;
      };

    closure =
      args: keep: roots:
      builtins.genericClosure {
        startSet = filter keep (imap1 (i: m: loadModule args "<unknown-file>" "" i m) roots);
        operator =
          item: filter keep (imap1 (i: m: loadModule args item.module.file item.key i m) item.module.imports);
      };

    evalModules =
      {
        modules,
        specialArgs ? { },
        prefix ? [ ],
      }:
      let
        args = specialArgs // {
          inherit lib config options;
        };
        modulesPath = toString (specialArgs.modulesPath or "/modulesPath-unset");
        disabledKey =
          d: if isString d && !(hasPrefix "/" d) then "${modulesPath}/${d}" else if d ? key then toString d.key else toString d;
        everything = closure args (_: true) modules;
        disabled = concatMap (item: map disabledKey item.module.disabledModules) everything;
        collected = map (item: item.module) (closure args (item: !(elem item.key disabled)) modules);
        freeformTypes = filter (t: t != null) (map (m: m.freeformType) collected);
        freeformType = if freeformTypes == [ ] then null else head freeformTypes;
        decls = mergeDeclarations prefix (
          map (m: {
            inherit (m) file;
            options = m.options;
          }) collected
        );
        defs = concatMap (
          m:
          map (c: {
            inherit (m) file;
            config = c;
          }) (pushDownProperties m.config)
        ) collected;
        merged = mergeLevel prefix decls defs;
        freeformConfig =
          if freeformType == null then
            { }
          else
            freeformType.merge prefix (
              map (u: {
                inherit (u) file;
                value = setAttrByPath (drop (length prefix) u.loc) u.value;
              }) merged.unmatched
            );
        config = if freeformType == null then merged.config else recursiveUpdate freeformConfig merged.config;
        options = merged.options;
        checkUnmatched =
          if freeformType == null && merged.unmatched != [ ] then
            let
              u = head merged.unmatched;
            in
            throw "The option `${showOption u.loc}' does not exist. Definition values:${showDefs [ u ]}"
          else
            null;
      in
      {
        options = builtins.seq checkUnmatched options;
        config = builtins.seq checkUnmatched config;
        inherit (merged) unmatched;
      };

    # Declarations: the options trees of every module, merged.
    mergeDeclarations =
      loc: decls:
      let
        opts = filter (d: isOption d.options) decls;
        trees = filter (d: !(isOption d.options)) decls;
      in
      if opts != [ ] then
        (
          if length opts > 1 then
            throw "The option `${showOption loc}' in `${(elemAt opts 1).file}' is already declared in `${(head opts).file}'."
          else if trees != [ ] then
            throw "The option `${showOption loc}' in `${(head opts).file}' is a prefix of options in `${(head trees).file}'."
          else
            (head opts).options
            // {
              declarations = [ (head opts).file ];
            }
        )
      else
        zipAttrsWith (n: ds: mergeDeclarations (loc ++ [ n ]) ds) (
          map (
            d:
            mapAttrs (n: v: {
              inherit (d) file;
              options = v;
            }) d.options
          ) trees
        );

    # One level of the option tree: options get their definitions merged,
    # subtrees recurse; definitions of names that are not declared are kept
    # as unmatched (an error, or the freeform part).
    mergeLevel =
      loc: decls: defs:
      let
        checked = map (
          d:
          if isAttrs d.config then
            d
          else
            throw "The option `${showOption loc}' in `${d.file}' is not an attribute set of options, but it is defined as ${showVal d.config}."
        ) defs;
        pushed = zipAttrsWith (n: concatLists) (
          map (
            d:
            mapAttrs (
              n: v:
              map (c: {
                inherit (d) file;
                config = c;
              }) (pushDownProperties v)
            ) d.config
          ) checked
        );
        raw = zipAttrsWith (n: concatLists) (
          map (
            d:
            mapAttrs (n: v: [
              {
                inherit (d) file;
                value = v;
              }
            ]) d.config
          ) checked
        );
        results = mapAttrs (
          n: decl:
          if isOption decl then
            {
              option = evalOption (loc ++ [ n ]) decl (raw.${n} or [ ]);
              unmatched = [ ];
            }
          else
            mergeLevel (loc ++ [ n ]) decl (pushed.${n} or [ ])
        ) decls;
        here = concatMap (
          n:
          if decls ? ${n} then
            [ ]
          else
            map (d: {
              loc = loc ++ [ n ];
              inherit (d) file value;
            }) raw.${n}
        ) (attrNames raw);
      in
      {
        options = mapAttrs (n: r: if r ? option then r.option else r.options) results;
        config = mapAttrs (n: r: if r ? option then r.option.value else r.config) results;
        unmatched = here ++ concatMap (r: r.unmatched) (attrValues results);
      };

    evalOption =
      loc: opt: defs:
      let
        type = opt.type or types.unspecified;
        withDefault =
          optional (opt ? default) {
            file = head opt.declarations;
            value = mkOptionDefault opt.default;
          }
          ++ defs;
        res =
          if opt.readOnly or false && length withDefault > 1 then
            throw "The option `${showOption loc}' is read-only, but it's set multiple times."
          else
            mergeDefinitions loc type withDefault;
        value = if opt ? apply then opt.apply res.mergedValue else res.mergedValue;
      in
      opt
      // {
        inherit loc type value;
        inherit (res) isDefined;
        inherit (res.defsFinal') highestPrio;
        definitions = map (d: d.value) res.defsFinal;
        files = unique (map (d: d.file) res.defsFinal);
      };

    # --- option renames and removals (lib/modules.nix) ------------------------
    mkAliasIfDef = option: mkIf (isOption option && option.isDefined);
    mkAliasAndWrapDefsWithPriority =
      wrap: option:
      let
        prio = option.highestPrio or defaultOverridePriority;
      in
      mkAliasIfDef option (wrap (mkMerge (map (mkOverride prio) option.definitions)));

    doRename =
      {
        from,
        to,
        visible,
        warn,
        use,
      }:
      { config, options, ... }:
      let
        fromOpt = getAttrFromPath from options;
        toOf = attrByPath to (abort "Renaming error: option `${showOption to}' does not exist.");
        toType =
          let
            opt = attrByPath to { } options;
          in
          opt.type or (types.submodule { });
      in
      {
        options = setAttrByPath from (mkOption {
          inherit visible;
          description = "Alias of {option}`${showOption to}`.";
          apply = x: use (toOf config);
          type = toType;
        });
        config = mkMerge [
          {
            warnings = optional (
              warn && fromOpt.isDefined
            ) "The option `${showOption from}' defined in ${showFiles fromOpt.files} has been renamed to `${showOption to}'.";
          }
          (mkAliasAndWrapDefsWithPriority (setAttrByPath to) fromOpt)
        ];
      };
    mkRenamedOptionModule =
      from: to:
      doRename {
        inherit from to;
        visible = false;
        warn = true;
        use = builtins.trace "Obsolete option `${showOption from}' is used. It was renamed to `${showOption to}'.";
      };
    mkAliasOptionModule =
      from: to:
      doRename {
        inherit from to;
        visible = true;
        warn = false;
        use = id;
      };
    mkRemovedOptionModule =
      optionName: replacementInstructions:
      { options, ... }:
      {
        options = setAttrByPath optionName (mkOption {
          visible = false;
          apply = x: throw "The option `${showOption optionName}' can no longer be used since it's been removed. ${replacementInstructions}";
        });
        config.assertions =
          let
            opt = getAttrFromPath optionName options;
          in
          [
            {
              assertion = !opt.isDefined;
              message = ''
                The option definition `${showOption optionName}' in ${showFiles opt.files} no longer has any effect; please remove it.
                ${replacementInstructions}
              '';
            }
          ];
      };
  };
in
lib
