"""Checks the CodeBuild buildspecs: valid YAML with a version and phases, under the 8 KB
SSM limit, and every command block shellcheck-clean (extracted into a bash script)."""

import subprocess
import sys
import tempfile

import yaml

LIMIT = 8192


def main(paths):
    failed = False
    for path in paths:
        text = open(path, encoding="utf-8").read()
        if len(text.encode()) > LIMIT:
            print(f"{path}: {len(text.encode())} bytes, over the {LIMIT}-byte SSM limit")
            failed = True
        spec = yaml.safe_load(text)
        if not isinstance(spec, dict) or "version" not in spec or "phases" not in spec:
            print(f"{path}: a buildspec needs `version` and `phases`")
            failed = True
            continue
        lines = ["#!/usr/bin/env bash", "# extracted from " + path]
        env = spec.get("env", {}) or {}
        for name in (env.get("variables") or {}):
            lines.append(f': "${{{name}:=}}"')
        for phase, body in spec["phases"].items():
            for section in ("commands", "finally"):
                for command in (body or {}).get(section, []) or []:
                    lines.append(f"# phase {phase}")
                    lines.append(command)
        with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as script:
            script.write("\n".join(lines) + "\n")
        # SC2154: variables come from CodeBuild's environment.
        result = subprocess.run(["shellcheck", "--exclude=SC2154", "--shell=bash", script.name], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"{path}: shellcheck found problems in the commands:\n{result.stdout}")
            failed = True
        else:
            print(f"{path}: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
