#!/usr/bin/env python3
"""Runs the shell examples of the documentation as tests.

Usage: doctest.py [--list] FILE.md...

A fenced block whose info string is ``sh doctest`` is runnable. The blocks
of one file run in order, in one bash process, in a scratch folder holding
links to the repository's ``build``, ``docs``, ``scripts`` and ``tests``
folders (so
that commands written for the repository's root, such as
``build/cli/aztp`` or ``docs/examples/payments.yaml``, run as written), with
``aztp``, ``aztpd`` and ``aztp-proxy`` on the PATH as after an install. Variables, ``cd`` and
``export`` carry from one command to the next and from block to block.

In a block, a command is a line (with its continuation lines ending in
``\\``) that is not a comment. The comment lines right after it may say
what the command prints:

* ``# {"valid":true,"sub":"spiffe://...",…}``: stdout is one JSON object
  holding these members with these values; ``…`` (or ``...``) stands for
  any value, and, last in an object, for any other members. Strings may
  end in ``…`` to match any continuation.
* ``(exit N)`` at the end of such a line, or alone as ``# (exit N)``: the
  exit code; 0 when not given.

Other comment lines are prose. A command ending in ``&`` runs in the
background; everything a file started is stopped when it is done. Every failure names the
file, the line and what differed; nothing a command printed is echoed
unless it failed (and then without secrets: API keys and private keys are
masked).
"""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile

ELLIPSIS = ("\u2026", "...")
ANY = "__doctest_any__"


def mask(text):
    text = re.sub(r"(aztp_[A-Za-z0-9]+)\.[A-Za-z0-9_-]+", r"\1.<secret>", text)
    return re.sub(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*"
                  r"PRIVATE KEY-----", "<private key>", text, flags=re.S)


class Step:
    def __init__(self, line, command):
        self.line = line
        self.command = command
        self.expect_json = None
        self.exit = 0


def parse_expectation(text):
    """Turns a documented JSON line into a pattern (ANY for wildcards)."""
    text = text.strip()
    for e in ELLIPSIS:
        # `,…}`: any further members; `,…]`: any further items.
        text = re.sub(r",\s*" + re.escape(e) + r"\s*}",
                      r', "' + ANY + r'": "' + ANY + r'"}', text)
        text = re.sub(r",\s*" + re.escape(e) + r"\s*\]", r', "' + ANY + r'"]',
                      text)
        # `"key":…` and `[…]`: any value.
        text = re.sub(r":\s*" + re.escape(e), ': "' + ANY + '"', text)
        text = re.sub(r"\[\s*" + re.escape(e) + r"\s*\]", '"' + ANY + '"',
                      text)
        # "abc…": a string with that prefix.
        text = text.replace(e + '"', ANY + '"')
    return json.loads(text)


def matches(want, got, path="$"):
    """Returns None when `got` matches the pattern `want`, else why not."""
    if want == ANY:
        return None
    if isinstance(want, str) and want.endswith(ANY):
        prefix = want[:-len(ANY)]
        if isinstance(got, str) and got.startswith(prefix):
            return None
        return "%s: want a string starting %r, got %r" % (path, prefix, got)
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return "%s: want an object, got %r" % (path, got)
        for key, value in want.items():
            if key == ANY:
                continue
            if key not in got:
                return "%s: member %r missing" % (path, key)
            why = matches(value, got[key], path + "." + key)
            if why:
                return why
        return None  # members not named are allowed
    if isinstance(want, list):
        if not isinstance(got, list):
            return "%s: want an array, got %r" % (path, got)
        items = [w for w in want if w != ANY]
        if ANY not in want and len(got) != len(want):
            return "%s: want %d items, got %d" % (path, len(want), len(got))
        for i, w in enumerate(items):
            if i >= len(got):
                return "%s: item %d missing" % (path, i)
            why = matches(w, got[i], "%s[%d]" % (path, i))
            if why:
                return why
        return None
    if want != got:
        return "%s: want %r, got %r" % (path, want, got)
    return None


def blocks(markdown):
    """Yields (first line number, lines) of every runnable block."""
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```sh doctest\s*$", lines[i])
        if not fence:
            i += 1
            continue
        start = i + 2  # 1-based number of the block's first line
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith("```"):
            body.append(lines[i])
            i += 1
        yield start, body
        i += 1


def steps(start, body):
    out = []
    i = 0
    while i < len(body):
        line = body[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        number = start + i
        command = [line]
        while command[-1].rstrip().endswith("\\") and i + 1 < len(body):
            i += 1
            command.append(body[i])
        step = Step(number, "\n".join(command))
        i += 1
        # The comment lines right after: expectations, or prose.
        while i < len(body) and body[i].strip().startswith("#"):
            note = body[i].strip()[1:].strip()
            exit_code = re.search(r"\(exit (\d+)\)\s*$", note)
            if exit_code:
                step.exit = int(exit_code.group(1))
                note = note[:exit_code.start()].strip()
            if note.startswith("{"):
                try:
                    step.expect_json = parse_expectation(note)
                except ValueError as e:
                    raise SystemExit("line %d: the documented output is not "
                                     "JSON with … wildcards (%s): %s"
                                     % (start + i, e, note))
            i += 1
        out.append(step)
    return out


class Shell:
    """One bash process; each step's output and exit code land in files."""

    def __init__(self, cwd, env):
        self.cwd = cwd
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd,
            env=env, text=True, start_new_session=True)
        self.n = 0

    def run(self, step, timeout):
        self.n += 1
        base = os.path.join(self.cwd, ".doctest-%d" % self.n)
        # A group, not a subshell: variables, `cd` and jobs stay in the
        # shell. A command's own redirections come after the group's and
        # win, also for one started in the background (`cmd > f &`).
        script = "{ %s\n} > %s.out 2> %s.err < /dev/null\necho $? > %s.rc\n" % (
            step.command, base, base, base)
        script += "echo __doctest_done_%d__\n" % self.n
        self.proc.stdin.write(script)
        self.proc.stdin.flush()
        marker = "__doctest_done_%d__" % self.n
        buffered = ""
        while marker not in buffered:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not ready:
                return None, "", "timed out after %ds" % timeout
            chunk = os.read(self.proc.stdout.fileno(), 65536).decode(
                errors="replace")
            if not chunk:
                return None, "", "the shell ended"
            buffered += chunk
        with open(base + ".rc") as f:
            rc = int(f.read().strip() or "-1")
        with open(base + ".out", errors="replace") as f:
            out = f.read()
        with open(base + ".err", errors="replace") as f:
            err = f.read()
        return rc, out, err

    def close(self):
        # Whatever the file started in the background (daemons, apps) is in
        # the shell's own process group: stop them all, then the shell.
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except Exception:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def run_file(path, root, build, timeout):
    with open(path) as f:
        markdown = f.read()
    all_steps = [s for start, body in blocks(markdown) for s in steps(start, body)]
    if not all_steps:
        print("%s: no runnable blocks" % path)
        return 1
    scratch = tempfile.mkdtemp(prefix="aztp_doctest_")
    os.symlink(build, os.path.join(scratch, "build"))
    os.symlink(os.path.join(root, "docs"), os.path.join(scratch, "docs"))
    for name in ("scripts", "tests"):
        os.symlink(os.path.join(root, name), os.path.join(scratch, name))
    # `aztp`, `aztpd` and `aztp-proxy` by name, as after an install.
    bin_dir = os.path.join(scratch, ".bin")
    os.mkdir(bin_dir)
    for name, built in (("aztp", "cli/aztp"), ("aztpd", "aztpd/aztpd"),
                        ("aztp-proxy", "proxy/aztp-proxy")):
        os.symlink(os.path.join(build, built), os.path.join(bin_dir, name))
    env = dict(os.environ)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    for name in ("AZTP_SERVER", "AZTP_API_KEY", "AZTP_BUNDLE"):
        env.pop(name, None)
    shell = Shell(scratch, env)
    failures = 0
    try:
        for step in all_steps:
            rc, out, err = shell.run(step, timeout)
            where = "%s:%d" % (os.path.relpath(path, root), step.line)
            why = None
            if rc is None:
                why = err
            elif rc != step.exit:
                why = "exit %d, documented %d" % (rc, step.exit)
            elif step.expect_json is not None:
                try:
                    got = json.loads(out)
                except ValueError:
                    why = "output is not one JSON value"
                else:
                    why = matches(step.expect_json, got)
            if why:
                failures += 1
                print("FAIL %s: %s\n  command: %s\n  stdout: %s\n  stderr: %s"
                      % (where, mask(why), mask(step.command.strip()),
                         mask(out.strip())[:2000], mask(err.strip())[:2000]))
                break  # later steps depend on this one
            print("ok %s" % where)
    finally:
        shell.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return failures


def main(argv):
    listing = "--list" in argv
    files = [a for a in argv if a != "--list"]
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    build = os.environ.get("AZTP_BUILD", os.path.join(root, "build"))
    if listing:
        for path in files:
            with open(path) as f:
                for start, body in blocks(f.read()):
                    for s in steps(start, body):
                        print("%s:%d %s" % (path, s.line, s.command.strip()))
        return 0
    failures = 0
    for path in files:
        failures += run_file(os.path.abspath(path), root, build,
                             int(os.environ.get("DOCTEST_TIMEOUT", "120")))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
