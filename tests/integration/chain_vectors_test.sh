#!/usr/bin/env bash
# The committed generator still produces a vector suite the verifier agrees
# with: regenerate into a scratch folder and run the vector runner on it.
source "$(dirname "$0")/../lib/common.sh"
"$AZTP_TOOLS/chain_vectors_tool" "$T/vectors" >/dev/null
n="$(ls "$T/vectors" | wc -l)"
[ "$n" -ge 60 ] || fail "only $n vectors generated"
ok "the generator wrote $n vectors"
AZTP_CHAIN_VECTORS="$T/vectors" "$AZTP_BUILD/aztp_chain_test" \
  --gtest_filter='ChainVectors.*' --gtest_brief=1 >/dev/null || fail "regenerated vectors do not verify as expected"
ok "the verifier gives every regenerated vector its expected result"
done_checks
