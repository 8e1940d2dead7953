#!/usr/bin/env python3
"""Free ports for tests and benchmarks on loopback: the one picker they all use.

usage: free_ports.py [--udp-only] [--blocks N] LOW-HIGH SIZE HOST...

Prints N (default 1) base ports p, space-separated, each even and in [LOW, HIGH), such
that p .. p+SIZE-1 could all be bound for UDP (and TCP, unless --udp-only) on every HOST
(IPv4 or IPv6 literals; 0.0.0.0 for the wildcard).  Bases are picked at random, so runs
in parallel rarely meet; what is free is checked by binding.  Exit 1 when nothing is
found within a bounded number of tries.
"""
import random
import socket
import sys


def usable(base, size, hosts, kinds):
    socks = []
    try:
        for host in hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            for kind in kinds:
                for port in range(base, base + size):
                    s = socket.socket(family, kind)
                    socks.append(s)
                    s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def main(argv):
    kinds = [socket.SOCK_DGRAM, socket.SOCK_STREAM]
    blocks = 1
    while argv and argv[0].startswith("--"):
        if argv[0] == "--udp-only":
            kinds = [socket.SOCK_DGRAM]
            argv = argv[1:]
        elif argv[0] == "--blocks" and len(argv) > 1:
            blocks = int(argv[1])
            argv = argv[2:]
        else:
            raise SystemExit(__doc__)
    if len(argv) < 3:
        raise SystemExit(__doc__)
    low, high = (int(x) for x in argv[0].split("-"))
    size, hosts = int(argv[1]), argv[2:]
    step = size + (size % 2)
    found = []
    for _ in range(400):
        base = random.randrange(low, high - step, step) // 2 * 2
        if any(abs(base - f) < step for f in found):
            continue
        if usable(base, size, hosts, kinds):
            found.append(base)
            if len(found) == blocks:
                print(" ".join(map(str, found)))
                return 0
    sys.stderr.write("no free ports in %s on %s\n" % (argv[0], " ".join(hosts)))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
