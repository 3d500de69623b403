"""kubesim's node network, inside the node's own network namespace (which has only `lo`):
each pod gets a network namespace with a veth to the node and an IP in 127.10.0.0/16; the
node is 127.10.0.1; Services get cluster IPs in 127.11.0.0/16 that nftables DNATs to the
pods backing them, kube-proxy style. A Service without ready pods has no rule, so a connect
is refused, as with a real kube-proxy. (Research report §5.3; 127/8 has to be routed with
route_localnet and a table-100 rule, since the kernel treats it as local.)
"""
import subprocess

NODE_IP = "127.10.0.1"


def sh(*commands):
    for command in commands:
        done = subprocess.run(command, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            raise RuntimeError(f"{command}: {done.stderr.decode().strip()}")


def setup_node():
    sh("ip link set lo up",
       "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.default.route_localnet=1",
       "ip rule add pref 100 lookup local", "ip rule del pref 0",
       f"ip addr add {NODE_IP}/32 dev lo",
       "ip rule add pref 10 to 127.10.0.0/16 lookup 100")


class PodNetwork:
    """One pod's network namespace, veth pair and address."""

    def __init__(self, prefix, n):
        self.netns = f"{prefix}-{n}"
        self.ip = f"127.10.{n // 250}.{n % 250 + 2}"
        self.veth = f"kvh{n}"

    def create(self):
        ns = f"ip netns exec {self.netns}"
        sh(f"ip netns add {self.netns}",
           f"ip link add {self.veth} type veth peer name eth0 netns {self.netns}",
           f"sysctl -qw net.ipv4.conf.{self.veth}.route_localnet=1 net.ipv4.conf.{self.veth}.proxy_arp=1",
           f"ip link set {self.veth} up",
           f"ip route add {self.ip}/32 dev {self.veth} src {NODE_IP} table 100",
           f"{ns} ip link set lo up",
           f"{ns} sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1",
           f"{ns} ip addr add {self.ip}/32 dev eth0", f"{ns} ip link set eth0 up",
           f"{ns} ip rule add pref 100 lookup local", f"{ns} ip rule del pref 0",
           f"{ns} ip rule add pref 5 to {self.ip} lookup local",
           f"{ns} ip rule add pref 10 to 127.10.0.0/15 lookup 100",
           f"{ns} ip route add {NODE_IP}/32 dev eth0 table 100",
           f"{ns} ip route add 127.10.0.0/15 dev eth0 src {self.ip} table 100",
           f"{ns} ip route add default dev eth0 src {self.ip}")

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.netns], stderr=subprocess.DEVNULL)


def apply_services(rules):
    """rules: [(cluster IP, port, [(pod IP, target port)])]: the DNAT table, replaced whole."""
    lines = ["table ip kubesim {", "  chain svc {"]
    for cluster_ip, port, endpoints in rules:
        if not endpoints:
            continue
        targets = ", ".join(f"{i} : {ip} . {target}" for i, (ip, target) in enumerate(endpoints))
        lines.append(f"    ip daddr {cluster_ip} tcp dport {port} dnat ip to numgen random mod {len(endpoints)} "
                     f"map {{ {targets} }}")
    lines += ["  }",
              "  chain pre { type nat hook prerouting priority -100; ip daddr 127.11.0.0/16 jump svc; }",
              "  chain out { type nat hook output priority -100; ip daddr 127.11.0.0/16 jump svc; }",
              "  chain post { type nat hook postrouting priority 100;",
              f'    oifname "kvh*" ct status dnat snat ip to {NODE_IP}',
              f'    oifname "kvh*" ip saddr != 127.10.0.0/15 snat ip to {NODE_IP};',
              "  }",
              "}"]
    script = "flush ruleset\n" + "\n".join(lines) + "\n"
    done = subprocess.run(["nft", "-f", "-"], input=script.encode(), stderr=subprocess.PIPE)
    if done.returncode != 0:
        raise RuntimeError(f"nft: {done.stderr.decode()}\n{script}")
