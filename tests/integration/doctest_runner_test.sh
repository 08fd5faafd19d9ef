#!/usr/bin/env bash
# The runner of the documentation's examples (tests/docs/doctest.py) fails
# when a documented output or exit code differs: a runner that always
# passed would make docs_test.sh a check that cannot fail.
source "$(dirname "$0")/../lib/common.sh"
R=(/usr/bin/python3 "$AZTP_SOURCE/tests/docs/doctest.py")

# md NAME: a markdown file whose one runnable block is stdin.
md() { { echo '# t'; echo '```sh doctest'; cat; echo '```'; } > "$T/$1.md"; }

md good <<'B'
echo '{"a":1,"b":{"c":"hello world","d":[1,2]},"e":true}'
# {"a":1,"b":{"c":"hello…","d":[…]},…}
X=42
echo "{\"x\":$X}"
# {"x":42}
sh -c 'echo "{\"error\":\"usage\"}"; exit 2'
# {"error":"usage"}   (exit 2)
echo '{"in":"file"}' > f.json &
wait; cat f.json
# {"in":"file"}
echo '{"l":[1,2,3]}'
# {"l":[1,…]}
B
expect_exit 0 "${R[@]}" "$T/good.md"
ok "documented outputs, wildcards, variables, exit codes and a background command's own redirection pass"

check_fails() {  # NAME WHY: the file NAME.md must fail, saying WHY
  expect_exit 1 "${R[@]}" "$T/$1.md"
  [[ "$out" == *"$2"* ]] || fail "$1: the runner did not say \"$2\": $out"
}
md value <<'B'
echo '{"a":1}'
# {"a":2}
B
check_fails value "$.a: want 2, got 1"
md member <<'B'
echo '{"a":1}'
# {"b":…}
B
check_fails member "member 'b' missing"
md exit <<'B'
false
B
check_fails exit "exit 1, documented 0"
md exit2 <<'B'
true
# (exit 3)
B
check_fails exit2 "exit 0, documented 3"
md items <<'B'
echo '{"l":[1,2,3]}'
# {"l":[1,2]}
B
check_fails items "want 2 items, got 3"
md notjson <<'B'
echo 'plain text'
# {"a":1}
B
check_fails notjson "output is not one JSON value"
md prefix <<'B'
echo '{"m":"goodbye"}'
# {"m":"hello…"}
B
check_fails prefix "want a string starting 'hello'"
md more <<'B'
echo '{"l":[2,3]}'
# {"l":[1,…]}
B
check_fails more "$.l[0]: want 1, got 2"
md leak <<'B'
echo '{"created":{"api_key":"aztp_ab.SECRETPART"}}'
# {"created":true}
B
check_fails leak "want True"
[[ "$out" != *SECRETPART* ]] || fail "a differing value printed a secret: $out"
ok "a wrong value, a missing member, a wrong exit code either way, a longer list, non-JSON output and a wrong prefix each fail, named"

md badexpect <<'B'
echo '{}'
# {"a": nope}
B
expect_exit 1 "${R[@]}" "$T/badexpect.md"
out="$("${R[@]}" "$T/badexpect.md" 2>&1 || true)"
[[ "$out" == *"the documented output is not JSON"* ]] || fail "bad expectation: $out"
md secret <<'B'
printf 'aztp_abc.SECRETPART -----BEGIN PRIVATE KEY-----\nxyz\n-----END PRIVATE KEY-----\n'; false
B
expect_exit 1 "${R[@]}" "$T/secret.md"
[[ "$out" != *SECRETPART* && "$out" != *xyz* ]] || fail "a secret was printed: $out"
ok "a documented output that is not JSON is named; a failing command's secrets are masked"
done_checks
