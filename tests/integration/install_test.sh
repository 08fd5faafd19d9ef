#!/usr/bin/env bash
# The SDK used from another project (issue 13, item 8): `cmake --install`
# into a scratch prefix, then tests/install/consumer built against it twice,
# once with find_package(aztp) and once with pkg-config alone; both programs
# mint and verify a chain.
source "$(dirname "$0")/../lib/common.sh"
prefix="$T/prefix"
cmake --install "$AZTP_BUILD" --prefix "$prefix" > "$T/install.log" ||
  fail "cmake --install: $(tail -5 "$T/install.log")"
lib="$(dirname "$(find "$prefix" -name libaztp.a | head -1)")"
[ -d "$lib" ] || fail "libaztp.a was not installed"
for f in "$prefix/include/aztp/chain/verifier.h" "$lib/cmake/aztp/aztpConfig.cmake" \
         "$lib/cmake/aztp/aztpConfigVersion.cmake" "$lib/cmake/aztp/aztpTargets.cmake" \
         "$lib/pkgconfig/aztp.pc" "$prefix/bin/aztp" "$prefix/bin/aztpd" \
         "$prefix/bin/aztp-proxy"; do
  [ -e "$f" ] || fail "not installed: ${f#$prefix/}"
done
# Nothing of the build or source tree leaks into the package.
if grep -rl -e "$AZTP_SOURCE" -e "$AZTP_BUILD" "$lib/cmake" "$lib/pkgconfig"; then
  fail "the installed package names the build or source tree"
fi
ok "installed: headers, libaztp.a, the CMake package, aztp.pc and the programs"

# The SDK alone (cmake/AztpLayers.cmake): neither the headers nor the code of
# the server and runtime layers (the control plane, its store, the daemons'
# configuration, the proxy).
for d in store controlplane compat config proxy; do
  [ ! -e "$prefix/include/aztp/$d" ] || fail "a daemon's headers were installed: aztp/$d"
done
defined="$(nm -C --defined-only "$lib/libaztp.a" 2>/dev/null)"
grep -q 'aztp::ChainVerifier::' <<< "$defined" || fail "nm: no ChainVerifier in libaztp.a"
daemon="$(grep -E 'aztp::(ControlPlane::|OpenSqliteStore\(|LoadAztpdConfig\()' <<< "$defined" || true)"
[ -z "$daemon" ] || fail "libaztp.a holds daemon code: $(head -3 <<< "$daemon")"
ok "the SDK holds no daemon code or headers"

src="$AZTP_SOURCE/tests/install/consumer"
cmake -S "$src" -B "$T/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$T/configure.log" 2>&1 ||
  fail "configure the consumer: $(tail -20 "$T/configure.log")"
cmake --build "$T/cmake-build" > "$T/build.log" 2>&1 ||
  fail "build the consumer: $(tail -20 "$T/build.log")"
expect_exit 0 "$T/cmake-build/consumer"
has "$out" 'j["valid"] and j["capabilities"] == ["tools:run"]'
ok "find_package(aztp): a consumer links aztp::aztp and verifies a chain"

export PKG_CONFIG_PATH="$lib/pkgconfig"
g++ -O1 -o "$T/consumer-pc" "$src/main.cc" $(pkg-config --cflags --libs aztp) \
  > "$T/pc.log" 2>&1 || fail "build with pkg-config: $(tail -20 "$T/pc.log")"
expect_exit 0 "$T/consumer-pc"
has "$out" 'j["valid"]'
ok "pkg-config aztp: the same program builds and runs"
