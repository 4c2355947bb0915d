"""A DNS A query over UDP, standard library only: python3 dnsquery.py SERVER PORT NAME...
prints NAME RCODE [addresses]."""
import random
import socket
import struct
import sys


def query(server, port, name):
    tid = random.randint(0, 65535)
    q = struct.pack(">HHHHHH", tid, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5); s.sendto(q, (server, port))
    r, _ = s.recvfrom(4096)
    rcode = r[3] & 0xF; an = struct.unpack(">H", r[6:8])[0]
    # skip question
    i = 12
    while r[i]: i += r[i] + 1
    i += 5
    ips = []
    for _ in range(an):
        if r[i] & 0xC0 == 0xC0: i += 2
        else:
            while r[i]: i += r[i] + 1
            i += 1
        typ, _, _, ln = struct.unpack(">HHIH", r[i:i+10]); i += 10
        if typ == 1: ips.append(socket.inet_ntoa(r[i:i+4]))
        i += ln
    return {0: "NOERROR", 3: "NXDOMAIN", 2: "SERVFAIL", 5: "REFUSED"}.get(rcode, rcode), ips
if __name__ == "__main__":
    for n in sys.argv[3:]:
        rcode, ips = query(sys.argv[1], int(sys.argv[2]), n)
        print(n, rcode, ",".join(ips))
