# free_port: print a TCP port on 127.0.0.1 that nothing listens on now
# (the kernel's choice; without python3, random high ports checked with
# ss). Sourced by the test servers' control scripts; `die` is theirs.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null && return
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
  die "could not find a free TCP port"
}
