#!/usr/bin/env python3
"""bench/report.py: turns a tour's CSVs into summary.md, the claims table and
the PNG charts, and prints the claims table on the terminal.

usage: bench/report.py [RESULTS-DIR]           (default bench/results)
       bench/report.py --self-test             the statistics and verdicts, on known data
       bench/report.py --check SUMMARY [--markers] [TEXT...]
                                               the claims table's shape (test-docs)
       bench/report.py --verdicts SUMMARY      "id verdict" per claim
       bench/report.py --show SUMMARY ID...    those claims' rows, a figure a line
       bench/report.py --refresh-tutorial FILE rewrites the output of FILE's
                                               `bench/report.py --show` console blocks

tour.sh calls it at the end of every run; run it alone to redo the summary
and the charts from the CSVs already there. A measurement that was not run
is left out, and the claims resting on it are inconclusive.

Every figure is the median over runs with a 95% confidence interval: the
order-statistic interval for the median (distribution-free: with n runs,
the k-th smallest and the k-th largest, for the largest k that covers the
median with probability >= 95%; it exists from 6 runs on), and for a ratio
of two medians a bootstrap over the runs. A claim of a difference holds
only when the intervals separate in its favour, and is contradicted when
they separate against it; a claim of equality holds when the ratio's
interval lies within [0.9, 1.1]; anything else, fewer than 6 runs, a busy
machine or a load generator that fell behind, is inconclusive.

Python 3 standard library only (csv, statistics, random).
"""

import csv
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys

VERDICTS = ("holds", "contradicted", "inconclusive")
CONFIDENCE = 0.95
# Other processes may use at most this share of the machine's CPU time
# during a timing measurement (from /proc/stat, less the tour's own).
BUSY_SHARE = 0.10
EQUAL_BAND = (0.9, 1.1)
BOOTSTRAP_RESAMPLES = 2000
CLAIMS_HEADER = ["id", "claim", "figures: median [95% interval]", "verdict", "why"]
MARKER = re.compile(r"\[claim ([a-z0-9-]+): ([a-z]+)\]")


# ==== Statistics ==============================================================


def order_stat_k(n, confidence=CONFIDENCE):
    """The largest k such that [x(k), x(n+1-k)] (1-based, sorted) covers the
    median with probability >= confidence, and that probability; (0, 0.0)
    when even [min, max] does not (n < 6 for 95%)."""
    best = (0, 0.0)
    for k in range(1, n // 2 + 1):
        # the interval misses when fewer than k runs fall below the median,
        # or fewer than k above: 2 * P(Binomial(n, 1/2) <= k - 1)
        miss = 2 * sum(math.comb(n, i) for i in range(k)) / 2**n
        if 1 - miss >= confidence:
            best = (k, 1 - miss)
    return best


def percentile(sorted_xs, q):
    """Linear interpolation between closest ranks, q in [0, 1]."""
    if not sorted_xs:
        return None
    pos = q * (len(sorted_xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


class Figure:
    """A median over runs, its 95% interval and the spread of the runs."""

    def __init__(self, values, unit="", scale=1.0, fmt=None):
        self.values = sorted(v * scale for v in values)
        self.n = len(self.values)
        self.unit = unit
        self.fmt = fmt
        if self.n == 0:
            self.median = self.lo = self.hi = None
            self.ok = False
            return
        self.median = statistics.median(self.values)
        k, _ = order_stat_k(self.n)
        self.ok = k > 0
        if self.ok:
            self.lo, self.hi = self.values[k - 1], self.values[self.n - k]
        else:  # no 95% interval: say so, show the range
            self.lo, self.hi = self.values[0], self.values[-1]

    def spread(self):
        """(max - min) / median: how far apart the runs were."""
        if not self.n or not self.median:
            return None
        return (self.values[-1] - self.values[0]) / abs(self.median)

    def text(self, with_unit=True):
        if self.median is None:
            return "not measured"
        unit = (" " + self.unit) if with_unit and self.unit else ""
        mark = "" if self.ok else " (n<6)"
        return f"{num(self.median, self.fmt)}{unit} [{num(self.lo, self.fmt)}, {num(self.hi, self.fmt)}]{mark}"


class Ratio:
    """median(a) / median(b), with a percentile-bootstrap 95% interval:
    the runs of each side resampled independently."""

    def __init__(self, a, b, seed=1):
        self.a, self.b = list(a), list(b)
        self.n = min(len(self.a), len(self.b))
        self.ok = len(self.a) >= 6 and len(self.b) >= 6
        mb = statistics.median(self.b) if self.b else 0
        if not self.a or not self.b or mb == 0:
            self.median = self.lo = self.hi = None
            self.ok = False
            return
        self.median = statistics.median(self.a) / mb
        rng = random.Random(seed)
        ratios = []
        for _ in range(BOOTSTRAP_RESAMPLES):
            ra = statistics.median(rng.choices(self.a, k=len(self.a)))
            rb = statistics.median(rng.choices(self.b, k=len(self.b)))
            if rb != 0:
                ratios.append(ra / rb)
        ratios.sort()
        alpha = (1 - CONFIDENCE) / 2
        self.lo, self.hi = percentile(ratios, alpha), percentile(ratios, 1 - alpha)

    def text(self, with_unit=True):
        if self.median is None:
            return "not measured"
        mark = "" if self.ok else " (n<6)"
        return f"{self.median:.2f}x [{self.lo:.2f}, {self.hi:.2f}]{mark}"


def num(v, fmt=None):
    if v is None:
        return "-"
    if fmt:
        return format(v, fmt)
    a = abs(v)
    if a >= 1000:
        return f"{v:.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


# ==== Verdicts ================================================================
# Each returns (verdict, why).

FEW = ("inconclusive", "fewer than 6 runs: no 95% interval")


def v_less(a, b, what="A below B"):
    """A claim that figure a is below figure b."""
    if a.median is None or b.median is None:
        return ("inconclusive", "not measured")
    if not (a.ok and b.ok):
        return FEW
    if a.hi < b.lo:
        return ("holds", "intervals separate")
    if a.lo > b.hi:
        return ("contradicted", "intervals separate the other way")
    return ("inconclusive", "intervals overlap")


def v_below(a, limit):
    """A claim that figure a (a Figure or a Ratio) is below limit."""
    if a.median is None:
        return ("inconclusive", "not measured")
    if not a.ok:
        return FEW
    if a.hi < limit:
        return ("holds", f"interval below {num(limit)}")
    if a.lo > limit:
        return ("contradicted", f"interval above {num(limit)}")
    return ("inconclusive", f"interval spans {num(limit)}")


def v_above(a, limit):
    if a.median is None:
        return ("inconclusive", "not measured")
    if not a.ok:
        return FEW
    if a.lo > limit:
        return ("holds", f"interval above {num(limit)}")
    if a.hi < limit:
        return ("contradicted", f"interval below {num(limit)}")
    return ("inconclusive", f"interval spans {num(limit)}")


def v_equal(r, band=EQUAL_BAND):
    """A claim of equality: the ratio's interval within the band."""
    if r.median is None:
        return ("inconclusive", "not measured")
    if not r.ok:
        return FEW
    if band[0] <= r.lo and r.hi <= band[1]:
        return ("holds", f"ratio's interval within [{band[0]}, {band[1]}]")
    if r.hi < band[0] or r.lo > band[1]:
        return ("contradicted", f"ratio's interval outside [{band[0]}, {band[1]}]")
    return ("inconclusive", f"ratio's interval not within [{band[0]}, {band[1]}]")


def v_every_run(flags):
    """A claim about what happens in a run, seen in each of them."""
    if not flags:
        return ("inconclusive", "not measured")
    if len(flags) < 6:
        return FEW
    yes = sum(1 for f in flags if f)
    if yes == len(flags):
        return ("holds", f"in all {len(flags)} runs")
    if yes * 2 <= len(flags):
        return ("contradicted", f"in only {yes} of {len(flags)} runs")
    return ("inconclusive", f"in {yes} of {len(flags)} runs")


def combine(results):
    """Several checks one claim rests on: holds when all hold, contradicted
    when any is, inconclusive otherwise (with the first reason why)."""
    if not results:
        return ("inconclusive", "not measured")
    for v, why in results:
        if v == "contradicted":
            return (v, why)
    for v, why in results:
        if v == "inconclusive":
            return (v, why)
    return ("holds", results[0][1])


DROPPED = "without "  # behind_reason()'s note when a few runs were set aside


def gate(result, busy, behind):
    """A decided verdict becomes inconclusive on a busy machine, or when
    the load generator fell behind its schedule in too many runs; when it
    fell behind in only a few, those runs were left out of the figures and
    the verdict says so."""
    v, why = result
    if busy:
        return ("inconclusive", busy)
    if behind.startswith(DROPPED):
        return (v, f"{why} ({behind})")
    if behind:
        return ("inconclusive", behind)
    return (v, why)


# ==== Reading a run ===========================================================


class Run:
    def __init__(self, out):
        self.out = out
        self.env = {}
        with open(os.path.join(out, "run.env")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                self.env.setdefault(k, v)
        self.tables = {}
        for name in ("idle", "throughput", "bursty", "reconnect", "modest", "starvation", "cpu", "aof", "fsync",
                     "cpu_share"):
            path = os.path.join(out, name + ".csv")
            if os.path.exists(path):
                with open(path, newline="") as f:
                    self.tables[name] = list(csv.DictReader(f))
            else:
                self.tables[name] = []
        self.servers = self.env.get("servers", "").split()

    def rows(self, table, **match):
        out = []
        for r in self.tables.get(table, []):
            if all(str(r.get(k, "")) == str(v) for k, v in match.items()):
                out.append(r)
        return out

    def values(self, table, field, fn=None, **match):
        vals = []
        for r in self.rows(table, **match):
            try:
                v = fn(r) if fn else float(r[field])
            except (ValueError, KeyError, TypeError, ZeroDivisionError):
                continue
            if v is not None:
                vals.append(v)
        return vals

    def fig(self, table, field, unit="", scale=1.0, fn=None, fmt=None, **match):
        return Figure(self.values(table, field, fn, **match), unit, scale, fmt)

    def busy(self, measurement):
        """Why the machine counts as busy during a measurement, or ''."""
        for r in self.tables.get("cpu_share", []):
            if r["measurement"] == measurement:
                share = float(r["others_share"])
                if share > BUSY_SHARE:
                    return (f"machine busy: other processes used {share:.0%} of the CPU during "
                            f"{measurement} (limit {BUSY_SHARE:.0%})")
                return ""
        return ""

    def others_share(self, measurement):
        for r in self.tables.get("cpu_share", []):
            if r["measurement"] == measurement:
                return float(r["others_share"])
        return None

    def label(self, key):
        if key == "stage2-pool":
            return f"stage2-pool (--threads {self.env.get('stage2_load_threads', '?')})"
        if key == "stage2-pool-default":
            return "stage2-pool (default pool)"
        if key == "stage2-pool-wide":
            return f"stage2-pool (--threads {self.env.get('burst_s2_threads', '?')})"
        if key == "redis":
            return f"redis {self.env.get('redis_server', '')}".strip()
        return key


BURST_LATE_SHARE = 0.25
BEHIND_SHARE_MAX = 0.25  # more runs behind than this: the claim is inconclusive


def lg_behind(r):
    """Whether the load generator fell behind its schedule in a run.

    Rate and session runs: when it says so, by its exit status 1 (over 1% of
    its requests went out over 1 ms late) or its late count. Burst runs
    (a row with every_ms): one thread writes a burst of B requests one after
    the other, so with B in the hundreds over 1% of them always leave more
    than 1 ms after the burst's time, and loadgen exits 1; that delay is the
    same for every server, and is the generator's only if it grows. So a
    burst run counts as behind when the latest request went out more than
    BURST_LATE_SHARE of the burst period late. A burst still going out when
    the next is due is a generator that cannot keep up; one that is out
    within a quarter of the period leaves the generator idle three quarters
    of the time, so no backlog builds up. Its spread is part of every
    server's latency (and on loopback partly the server's own cost: the
    sending CPU runs the receiver's TCP path and its wake-ups), which
    bench/README.md says."""
    try:
        if r.get("every_ms"):
            return float(r["max_late_us"]) > BURST_LATE_SHARE * float(r["every_ms"]) * 1000
    except (KeyError, ValueError, TypeError):
        return r.get("lg_status") == "1"
    if r.get("lg_status") == "1":
        return True
    try:
        return float(r["late"]) > 0.01 * float(r["sent"])
    except (KeyError, ValueError, TypeError):
        return False


def lg_ok(r):
    """A run whose generator finished, reported (status 0 or 1) and kept to
    its schedule: a run where it fell behind measures the generator too, so
    it is left out of the figures (behind_reason() says how many)."""
    return r.get("lg_status") in ("0", "1") and r.get("p99_us", "") != "" and not lg_behind(r)


def behind_reason(run, table, keys, **match):
    rows = [r for k in keys for r in run.rows(table, server=k, **match)]
    bad = sum(1 for r in rows if lg_behind(r))
    if bad and bad > BEHIND_SHARE_MAX * len(rows):
        return f"load generator fell behind its schedule in {bad} of {len(rows)} runs"
    if bad:
        return f"{DROPPED}{bad} of {len(rows)} runs where the load generator fell behind"
    return ""


PERCENTILE_OF = {"p50_us": 0.5, "p90_us": 0.9, "p99_us": 0.99, "p999_us": 0.999, "max_us": 1.0}


def run_lat(run, r, field):
    """One run's latency percentile in ms. The generator's percentiles are
    over the requests answered; when more of them went unanswered than the
    percentile leaves above it (p99: over 1%), the true figure is at least
    the drain the generator waited after its schedule, and is counted as
    that much: a server that does not answer is not fast."""
    v = float(r[field]) / 1000
    try:
        sent, done = float(r["sent"]), float(r["completed"])
    except (KeyError, ValueError):
        return v
    if sent > 0 and (sent - done) / sent > 1 - PERCENTILE_OF.get(field, 1.0):
        v = max(v, float(run.env.get("lg_drain", "2")) * 1000)
    return v


def lat_fig(run, table, key, field="p99_us", **match):
    """A latency percentile over the runs that reported, in ms."""
    vals = [run_lat(run, r, field) for r in run.rows(table, server=key, **match) if lg_ok(r) and r.get(field)]
    return Figure(vals, "ms")


# ==== The claims ==============================================================
# One per statement of the tutorial; TUTORIAL.md marks where it makes each
# with [claim ID: VERDICT], and make test-docs checks the marks against the
# reference run's table. Each function returns (figures, (verdict, why)).


def n_max(run):
    ns = [int(r["n"]) for r in run.tables["idle"] if r.get("n")]
    return max(ns) if ns else None


def idle_fig(run, key, n):
    return run.fig("idle", "rss_per_conn_bytes", "B", server=key, n=n)


def claim_idle_loop(run):
    n = n_max(run)
    figs, res = [], []
    for k in ("stage3-eventloop", "stage4-offload"):
        f = idle_fig(run, k, n)
        figs.append(f"{k} {f.text()}")
        res.append(v_below(f, 1024))
    return f"N={n}: " + "; ".join(figs), combine(res)


def claim_idle_vs_redis(run):
    n = n_max(run)
    r = idle_fig(run, "redis", n)
    figs, res = [], []
    for k in ("stage3-eventloop", "stage4-offload"):
        f = idle_fig(run, k, n)
        figs.append(f"{k} {f.text()}")
        res.append(v_less(f, r))
    return f"N={n}: " + "; ".join(figs) + f"; redis {r.text()}", combine(res)


def claim_idle_threads(run):
    n = n_max(run)
    a = run.values("idle", "rss_per_conn_bytes", server="stage1-threads", n=n)
    b = run.values("idle", "rss_per_conn_bytes", server="stage3-eventloop", n=n)
    r = Ratio(a, b)
    return (f"N={n}: stage1-threads {Figure(a, 'B').text()}, {r.text()} stage3-eventloop's",
            v_above(r, 20))


def claim_idle_pool(run):
    rows = run.rows("idle", server="stage2-pool-default", n=run.env.get("idle_ns", "100").split()[0])
    flags = [r["active_served"] != "yes" for r in rows]
    return (f"stage2-pool (default pool), N={rows[0]['n'] if rows else '?'}: active client not served in "
            f"{sum(flags)} of {len(flags)} runs", v_every_run(flags))


def burst_max(run):
    bs = [int(b) for b in run.env.get("burst_sizes", "").split()]
    return max(bs) if bs else None


def claim_bursty_tail(run):
    b = burst_max(run)
    keys = ("stage3-eventloop", "stage1-threads", "stage2-pool-wide")
    f = {k: lat_fig(run, "bursty", k, burst=b) for k in keys}
    res = [v_less(f["stage3-eventloop"], f[k]) for k in keys[1:]]
    figs = f"B={b}, p99: " + "; ".join(f"{run.label(k)} {f[k].text()}" for k in keys)
    return figs, gate(combine(res), run.busy("bursty"), behind_reason(run, "bursty", keys, burst=b))


def bursts_between(r):
    """The bursts scheduled between the two scheduler snapshots, or None
    when they were not taken apart (a run too short to sample)."""
    bursts = (float(r["t1"]) - float(r["t0"])) * 1000 / float(r["every_ms"])
    return bursts if bursts >= 1 else None


def runq_per_burst(r):
    """Run-queue wait of the server's threads per burst, in ms."""
    n = bursts_between(r)
    return None if n is None else (float(r["runq_wait_ns1"]) - float(r["runq_wait_ns0"])) / n / 1e6


def invol_per_burst(r):
    n = bursts_between(r)
    return None if n is None else (float(r["nvcsw1"]) - float(r["nvcsw0"])) / n


def claim_bursty_runqueue(run):
    b = burst_max(run)
    a = run.fig("bursty", None, "ms", fn=runq_per_burst, server="stage1-threads", burst=b)
    c = run.fig("bursty", None, "ms", fn=runq_per_burst, server="stage3-eventloop", burst=b)
    figs = f"B={b}, run-queue wait per burst: stage3-eventloop {c.text()}; stage1-threads {a.text()}"
    return figs, gate(v_less(c, a), run.busy("bursty"), "")


def answered_share(r):
    """completed / sent of a run; when the generator was stopped at its time
    limit before it could say (a server that never answers most of its
    connections), the share of connections the server even held."""
    if r.get("sent") and float(r["sent"]) > 0:
        return float(r["completed"]) / float(r["sent"])
    if r.get("lg_status") == "124" and r.get("held"):
        return float(r["held"]) / float(r["connections"])
    return None


def claim_bursty_pool(run):
    b = run.env.get("burst_fail_b", "")
    rows = run.rows("bursty", server="stage2-pool-default", burst=b)
    shares = [x for x in (answered_share(r) for r in rows) if x is not None]
    f = Figure(shares, "%", 100.0, ".0f")
    return (f"stage2-pool (default pool), B={b}: requests answered {f.text()}",
            v_every_run([s < 0.5 for s in shares]))


def claim_reconnect(run):
    keys = ("stage3-eventloop", "stage1-threads")
    f = {k: lat_fig(run, "reconnect", k) for k in keys}
    figs = "p99: " + "; ".join(f"{k} {f[k].text()}" for k in keys)
    return figs, gate(v_less(f[keys[0]], f[keys[1]]), run.busy("reconnect"),
                      behind_reason(run, "reconnect", keys))


def claim_modest(run):
    figs, res = [], []
    for c in run.env.get("modest_conns", "").split():
        a = [run_lat(run, r, "p50_us") for r in run.rows("modest", server="stage1-threads", connections=c) if lg_ok(r)]
        b = [run_lat(run, r, "p50_us") for r in run.rows("modest", server="stage3-eventloop", connections=c) if lg_ok(r)]
        r = Ratio(a, b)
        figs.append(f"C={c}: p50 stage1-threads / stage3-eventloop {r.text()}")
        res.append(v_equal(r))
    keys = ("stage1-threads", "stage3-eventloop")
    return "; ".join(figs), gate(combine(res), run.busy("modest"), behind_reason(run, "modest", keys))


def tp_values(run, key, pipe, test, field="rps"):
    return run.values("throughput", field, server=key, pipeline=pipe, test=test)


def claim_tp_parity(run):
    figs, res = [], []
    for t in ("PING_INLINE", "SET", "GET"):
        r = Ratio(tp_values(run, "stage3-eventloop", 1, t), tp_values(run, "redis", 1, t))
        figs.append(f"{t} {r.text()}")
        res.append(v_equal(r))
    return ("requests/s, stage3-eventloop / redis: " + "; ".join(figs),
            gate(combine(res), run.busy("throughput"), ""))


def claim_tp_pipelined(run):
    # SET and GET: the claim is about the store lock stage 1 takes for each
    # command, which PING does not take.
    p = run.env.get("tp_pipeline", "16")
    figs, res = [], []
    for t in ("SET", "GET"):
        a = Figure(tp_values(run, "stage1-threads", p, t), fmt=".0f")
        b = Figure(tp_values(run, "stage3-eventloop", p, t), fmt=".0f")
        figs.append(f"{t} stage3 {b.text()} vs stage1 {a.text()}")
        res.append(v_less(a, b))
    return f"requests/s at -P {p}: " + "; ".join(figs), gate(combine(res), run.busy("throughput"), "")


def claim_tp_cpu(run):
    figs, res = [], []
    for t in ("PING_INLINE", "SET", "GET"):
        a = Figure(tp_values(run, "stage3-eventloop", 1, t, "server_cpu_us_per_req"), "us")
        b = Figure(tp_values(run, "stage1-threads", 1, t, "server_cpu_us_per_req"), "us")
        figs.append(f"{t} stage3 {a.text(False)} vs stage1 {b.text(False)}")
        res.append(v_less(a, b))
    return ("server CPU us per request: " + "; ".join(figs),
            gate(combine(res), run.busy("throughput"), ""))


def claim_stall_loop(run):
    f = lat_fig(run, "starvation", "stage3-eventloop", phase="sleeping")
    sleep_ms = float(run.env.get("starve_sleep", "0.2")) * 1000
    return (f"stage3-eventloop PING p99 with the sleeper {f.text()} (sleep {sleep_ms:.0f} ms)",
            gate(v_above(f, sleep_ms / 2), run.busy("starvation"),
                 behind_reason(run, "starvation", ("stage3-eventloop",), phase="baseline")))


def claim_stall_offload(run):
    k = "stage4-offload"
    a = [run_lat(run, r, "p99_us") for r in run.rows("starvation", server=k, phase="sleeping") if lg_ok(r)]
    b = [run_lat(run, r, "p99_us") for r in run.rows("starvation", server=k, phase="baseline") if lg_ok(r)]
    r = Ratio(a, b)
    return (f"stage4-offload PING p99 with the sleeper {Figure(a, 'ms').text()}, without {Figure(b, 'ms').text()}: {r.text()}",
            gate(v_below(r, 3), run.busy("starvation"), behind_reason(run, "starvation", (k,))))


def cpu_fig(run, key, c):
    return run.fig("cpu", "rps", fmt=".0f", server=key, clients=c)


def claim_cpu(run, keys):
    if int(run.env.get("cpu_count", "1") or 1) < 2:
        return "one CPU", ("inconclusive", "needs 2 CPUs or more")
    base = cpu_fig(run, "stage3-eventloop", 2)
    figs, res = [f"DIGEST/s with 2 clients: stage3-eventloop {base.text()}"], []
    for k in keys:
        f = cpu_fig(run, k, 2)
        figs.append(f"{k} {f.text()}")
        res.append(v_less(base, f))
    return "; ".join(figs), gate(combine(res), run.busy("cpu"), "")


# ---- The append-only file (appendfsync always) --------------------------------


def aof_test(run, pipelined=False):
    """The name of a closed-loop AOF test in aof.csv: set-c50, set-c50-P16."""
    c = run.env.get("aof_clients", "50")
    return f"set-c{c}-P{run.env.get('aof_pipeline', '16')}" if pipelined else f"set-c{c}"


def aof_rps(run, key, test):
    return run.values("aof", "rps", server=key, test=test)


def aof_lat(run, key, test, field="p99_us"):
    """One latency percentile of the open-loop runs (test open-set: the
    SETs; open-ping: the bystander's PINGs), in ms, over the runs whose
    generator kept to its schedule."""
    return [run_lat(run, r, field) for r in run.rows("aof", server=key, test=test) if lg_ok(r) and r.get(field)]


def aof_behind(run, keys):
    """behind_reason() over both generators of the open-loop runs: the SET
    load and the bystander."""
    reasons = [behind_reason(run, "aof", keys, test=t) for t in ("open-set", "open-ping")]
    for r in reasons:
        if r and not r.startswith(DROPPED):
            return r
    return next((r for r in reasons if r), "")


def aof_unmeasured(run, keys):
    """Why a claim resting on these servers has no figures: a stage without
    the append-only file yet (run.env's aof_unsupported), or ''."""
    notes = [n for n in run.env.get("aof_unsupported", "").split("; ") if n.split(":")[0] in keys]
    return "; ".join(notes)


def aof_gate(run, keys, result):
    missing = aof_unmeasured(run, keys)
    if missing:
        return ("inconclusive", f"left out: {missing}")
    return result


def claim_aof_set(run, pipelined):
    t = aof_test(run, pipelined)
    a = Figure(aof_rps(run, "stage4-offload", t), fmt=".0f")
    b = Figure(aof_rps(run, "redis", t), fmt=".0f")
    r = Ratio(aof_rps(run, "stage4-offload", t), aof_rps(run, "redis", t))
    figs = (f"SET/s, {t}, appendfsync {run.env.get('aof_fsync', 'always')}: stage4-offload {a.text()}; "
            f"{run.label('redis')} {b.text()}; stage4-offload / redis {r.text()}")
    # at least Redis's: the ratio's interval above the equality band's
    # floor; ahead of it: the two intervals separate
    res = v_less(b, a) if pipelined else v_above(r, EQUAL_BAND[0])
    return figs, aof_gate(run, ("stage4-offload", "redis"), gate(res, run.busy("aof"), ""))


def claim_aof_bystander(run):
    keys = ("stage4-offload", "stage3-eventloop", "redis")
    f = {k: aof_lat(run, k, "open-ping") for k in keys}
    figs = [f"bystander PING p99 at {run.env.get('aof_rate', '?')} SET/s: " +
            "; ".join(f"{run.label(k)} {Figure(f[k], 'ms').text()}" for k in keys)]
    res = []
    for k in keys[1:]:
        r = Ratio(f["stage4-offload"], f[k])
        figs.append(f"stage4-offload / {run.label(k)} {r.text()}")
        res.append(v_below(r, 1 / 3))
    return "; ".join(figs), aof_gate(run, keys, gate(combine(res), run.busy("aof"), aof_behind(run, keys)))


CLAIMS = [
    ("idle-memory-loop", "idle",
     "An idle connection costs the event-loop stages (3, 4) under 1 KiB resident.", claim_idle_loop),
    ("idle-memory-vs-redis", "idle",
     "...and less than it costs Redis.", claim_idle_vs_redis),
    ("idle-memory-threads", "idle",
     "A thread per connection (stage 1) costs over 20 times stage 3's bytes per idle connection.",
     claim_idle_threads),
    ("idle-pool-starves", "idle",
     "With 100 idle connections, stage 2's default pool serves no other client.", claim_idle_pool),
    ("bursty-tail", "bursty",
     "Bursts on many persistent connections: the loop's p99 is below a thread per connection's, "
     "with stage 2 too given a worker per connection.", claim_bursty_tail),
    ("bursty-runqueue", "bursty",
     "Why: a burst wakes a thread per request, and they wait in the scheduler's run queue; "
     "the loop's one thread does not.", claim_bursty_runqueue),
    ("bursty-pool-default", "bursty",
     "Stage 2's default pool leaves most of the 1,000 connections unanswered: a failure, not a latency.",
     claim_bursty_pool),
    ("reconnect-tail", "reconnect",
     "Sessions that connect, send a few requests and leave: the loop's p99 is below stage 1's, "
     "which creates a thread per session.", claim_reconnect),
    ("modest-threads-as-good", "modest",
     "A few dozen clients at a moderate rate: threads are as good (p50 ratio within [0.9, 1.1]).",
     claim_modest),
    ("throughput-loop-parity", "throughput",
     "Unpipelined, stage 3 matches Redis's requests/s (ratio within [0.9, 1.1]).", claim_tp_parity),
    ("throughput-pipelined", "throughput",
     "Pipelined (-P 16) SET and GET, the loop pulls ahead of the thread per connection, "
     "which takes the store lock for every command.", claim_tp_pipelined),
    ("throughput-cpu-per-request", "throughput",
     "Unpipelined, a request costs stage 1 more server CPU than stage 3.", claim_tp_cpu),
    ("stall-loop", "starvation",
     "One slow command stalls every client of the loop: stage 3's PING p99 is at least half the sleep.",
     claim_stall_loop),
    ("stall-offload", "starvation",
     "Offloaded, it does not: stage 4's PING p99 with the sleeper is within 3 times its p99 without.",
     claim_stall_offload),
    ("cpu-threads-scale", "cpu",
     "CPU-bound work: the thread stages (1, 2) answer more DIGESTs/s than stage 3 with 2 clients.",
     lambda run: claim_cpu(run, ("stage1-threads", "stage2-pool"))),
    ("cpu-offload-scale", "cpu",
     "Offloading (stage 4) gets that parallelism back.",
     lambda run: claim_cpu(run, ("stage4-offload",))),
    ("aof-set-50", "aof",
     "appendfsync always, 50 clients: stage 4's SET throughput is at least Redis's (both commit in groups; "
     "ratio's interval above 0.9).", lambda run: claim_aof_set(run, False)),
    ("aof-overlap", "aof",
     "appendfsync always, pipelined (-P 16, 50 clients): stage 4 answers more SETs/s than Redis: its loop "
     "keeps executing while the pool syncs, where Redis syncs on its loop before writing the replies.",
     lambda run: claim_aof_set(run, True)),
    ("aof-bystander", "aof",
     "During an open-loop SET load under appendfsync always, a client that only PINGs sees a p99 on stage 4 "
     "at most a third of stage 3's and of Redis's, which sync on the loop thread.", claim_aof_bystander),
]


def evaluate(run):
    rows = []
    for cid, measurement, text, fn in CLAIMS:
        if not run.tables.get(measurement):
            rows.append((cid, text, "not measured in this run", ("inconclusive", "not measured")))
            continue
        try:
            figs, result = fn(run)
        except (KeyError, ValueError, IndexError, TypeError) as e:
            figs, result = f"could not be computed ({type(e).__name__}: {e})", ("inconclusive", "no data")
        rows.append((cid, text, figs, result))
    return rows


# ==== Markdown ================================================================


def md_table(header, rows):
    rows = [[str(c).replace("|", "/") for c in r] for r in rows]
    w = [len(h) for h in header]
    for r in rows:
        for i, c in enumerate(r):
            w[i] = max(w[i], len(c))
    line = lambda cells: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(cells)) + " |"
    out = [line(header), "|" + "|".join("-" * (x + 2) for x in w) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def claims_table(claims):
    return md_table(CLAIMS_HEADER, [(cid, text, figs, v, why) for cid, text, figs, (v, why) in claims])


def fig_cells(f, pct=False):
    """median, interval, spread, runs: the four cells of a figure."""
    if f.median is None:
        return ["-", "-", "-", "0"]
    iv = f"[{num(f.lo, f.fmt)}, {num(f.hi, f.fmt)}]" + ("" if f.ok else " (n<6)")
    sp = f.spread()
    return [num(f.median, f.fmt), iv, "-" if sp is None else f"{sp:.0%}", str(f.n)]


def section_idle(run):
    t = run.tables["idle"]
    if not t:
        return []
    keys = [k for k in ("stage1-threads", "stage2-pool-default", "stage3-eventloop", "stage4-offload", "redis")
            if run.rows("idle", server=k)]
    ns = sorted({int(r["n"]) for r in t})
    rows = []
    for k in keys:
        for n in ns:
            rr = run.rows("idle", server=k, n=n)
            if not rr:
                continue
            f = Figure([float(r["rss_per_conn_bytes"]) for r in rr if r["rss_per_conn_bytes"]], "B", fmt=".0f")
            held = Figure([float(r["held"]) for r in rr], fmt=".0f")
            thr = Figure([float(r["threads"]) for r in rr], fmt=".0f")
            rss = Figure([float(r["rss_kb"]) / 1024 for r in rr], fmt=".1f")
            served = sum(1 for r in rr if r["active_served"] == "yes")
            reply = "" if served == len(rr) else f" (else: {rr[0]['active_reply'] if rr[0]['active_served'] != 'yes' else next(r['active_reply'] for r in rr if r['active_served'] != 'yes')})"
            rows.append([run.label(k), str(n), num(held.median, ".0f"), num(rss.median, ".1f"), num(thr.median, ".0f")]
                        + fig_cells(f) + [f"{served} of {len(rr)}{reply}"])
    out = ["## 1. Idle memory", "",
           "Resident bytes per idle connection = (RSS with N held - RSS with none) / held, with N",
           "connections held open by `redis-benchmark -I` (or `build/release/bench/idle_hold` where it gives up),",
           "on a freshly started server per run. \"served\" counts the runs in which one more client's",
           "PING was answered within 3 s while they were held. Memory is not timed: this",
           "measurement is not pinned, and a busy machine does not make it inconclusive.", "",
           md_table(["server", "N", "held", "RSS (MiB)", "threads", "B/conn", "95% interval", "spread", "runs",
                     "active client served"], rows)]
    notes = sorted({(r["server"], r["n"], r["note"]) for r in t if r.get("note")})
    if notes:
        out.append("")
        for s, n, note in notes[:6]:
            out.append(f"- {run.label(s)}, N={n}: {note}.")
    return out


def section_throughput(run):
    if not run.tables["throughput"]:
        return []
    p = run.env.get("tp_pipeline", "16")
    keys = [k for k in run.servers if run.rows("throughput", server=k)]
    rows, cpu_rows = [], []
    for pipe in ("1", p):
        for t in ("PING_INLINE", "SET", "GET"):
            for k in keys:
                f = Figure(tp_values(run, k, pipe, t), fmt=".0f")
                c = Figure(tp_values(run, k, pipe, t, "server_cpu_us_per_req"), fmt=".2f")
                p99 = Figure(tp_values(run, k, pipe, t, "p99_ms"), fmt=".3f")
                name = t if pipe == "1" else f"{t} -P {pipe}"
                rows.append([name, run.label(k)] + fig_cells(f) + [num(p99.median, ".3f")] + fig_cells(c)[:2])
    return ["## 2. Throughput", "",
            f"`redis-benchmark` with {run.env.get('tp_clients', '?')} clients, closed loop (the right tool for the most",
            "requests a server can answer), unpipelined and pipelined; a freshly started server per",
            "round, not pinned. Requests/s, the p99 of the median run, and the server's CPU time per",
            "request (user + system, all threads, from /proc): what a request costs the server.", "",
            md_table(["test", "server", "req/s", "95% interval", "spread", "runs", "p99 (ms)",
                      "CPU us/req", "95% interval"], rows)]


def section_bursty(run):
    if not run.tables["bursty"]:
        return []
    keys = []
    for k in run.rows("bursty"):
        if k["server"] not in keys:
            keys.append(k["server"])
    order = ["stage1-threads", "stage2-pool-wide", "stage2-pool-default", "stage3-eventloop", "stage4-offload", "redis"]
    keys.sort(key=lambda k: order.index(k) if k in order else 99)
    bs = sorted({int(r["burst"]) for r in run.tables["bursty"]})
    rows = []
    for b in bs:
        for k in keys:
            rr = run.rows("bursty", server=k, burst=b)
            if not rr:
                continue
            ok = [r for r in rr if lg_ok(r)]
            p50 = Figure([run_lat(run, r, "p50_us") for r in ok])
            p99 = Figure([run_lat(run, r, "p99_us") for r in ok])
            mx = Figure([run_lat(run, r, "max_us") for r in ok])
            answered = Figure([float(r["completed"]) / float(r["sent"]) for r in ok if float(r["sent"] or 0) > 0],
                              scale=100.0, fmt=".0f")
            rq = run.fig("bursty", None, fn=runq_per_burst, server=k, burst=b)
            iv = run.fig("bursty", None, fn=invol_per_burst, server=k, burst=b)
            behind = sum(1 for r in rr if lg_behind(r))
            late = Figure([float(r["max_late_us"]) / 1000 for r in rr if r.get("max_late_us")])
            rows.append([str(b), run.label(k), num(p50.median), p99.text(False), num(mx.median),
                         f"{num(answered.median, '.0f')}%", rq.text(False), num(iv.median), num(late.median),
                         f"{behind} of {len(rr)}"])
    return ["## 3. Bursts on persistent connections", "",
            f"`build/release/bin/loadgen --connections {run.env.get('burst_conns')} --burst B --every {run.env.get('burst_every_ms')} "
            f"--duration {run.env.get('burst_seconds')}`: that many mostly idle connections, and every",
            f"{run.env.get('burst_every_ms')} ms one `{run.env.get('burst_command', 'PING')}` on each of B of them at once; open loop, latency from",
            "each request's scheduled time. Server and generator pinned to different CPUs",
            f"(server {run.env.get('server_cpus')}, generator {run.env.get('loadgen_cpus')}). The mechanism, per burst: the time the",
            "server's threads spent runnable but waiting for a CPU (run-queue wait, from",
            "/proc/PID/task/*/schedstat) and their involuntary context switches. Latencies in ms;",
            "\"answered\" is completed / sent. One thread writes each burst, so its last requests leave",
            "a little after the burst's time, for every server alike (the generator's latest send);",
            f"\"behind\" counts runs where that exceeded {BURST_LATE_SHARE:.0%} of the burst period.", "",
            md_table(["B", "server", "p50", "p99 [95% interval]", "max", "answered", "run-queue wait (ms) per burst",
                      "invol. switches per burst", "generator's latest send (ms late)", "behind"], rows)]


def simple_lat_section(run, table, title, intro, group_field=None):
    if not run.tables[table]:
        return []
    keys = []
    for r in run.rows(table):
        if r["server"] not in keys:
            keys.append(r["server"])
    groups = sorted({r[group_field] for r in run.tables[table]}, key=int) if group_field else [None]
    rows = []
    for g in groups:
        for k in keys:
            m = {group_field: g} if group_field else {}
            rr = run.rows(table, server=k, **m)
            if not rr:
                continue
            ok = [r for r in rr if lg_ok(r)]
            p50 = Figure([run_lat(run, r, "p50_us") for r in ok])
            p99 = Figure([run_lat(run, r, "p99_us") for r in ok])
            mx = Figure([run_lat(run, r, "max_us") for r in ok])
            errors = sum(int(r["errors"] or 0) for r in ok)
            behind = sum(1 for r in rr if lg_behind(r))
            rows.append(([g] if group_field else []) + [run.label(k), p50.text(False), p99.text(False), num(mx.median),
                                                        str(errors), f"{behind} of {len(rr)}"])
    head = ([group_field] if group_field else []) + ["server", "p50 (ms) [95%]", "p99 (ms) [95%]", "max (ms)",
                                                     "errors", "behind"]
    return [title, ""] + intro + ["", md_table(head, rows)]


def section_starvation(run):
    t = run.tables["starvation"]
    if not t:
        return []
    keys = [k for k in run.servers if run.rows("starvation", server=k)]
    rows = []
    for k in keys:
        base = [run_lat(run, r, "p99_us") for r in run.rows("starvation", server=k, phase="baseline") if lg_ok(r)]
        slp = [run_lat(run, r, "p99_us") for r in run.rows("starvation", server=k, phase="sleeping") if lg_ok(r)]
        s50 = [run_lat(run, r, "p50_us") for r in run.rows("starvation", server=k, phase="sleeping") if lg_ok(r)]
        lags = [r["loop_lag_max_after_ms"] for r in run.rows("starvation", server=k, phase="sleeping")
                if r.get("loop_lag_max_after_ms")]
        lag = Figure([float(x) for x in lags]) if lags else None
        rows.append([run.label(k), Figure(base).text(False), num(Figure(s50).median), Figure(slp).text(False),
                     Ratio(slp, base).text(), num(lag.median) if lag else "-"])
    return ["## 6. Starvation", "",
            f"One client runs `DEBUG SLEEP {run.env.get('starve_sleep')}` in a loop while `build/release/bin/loadgen` sends PINGs open-loop",
            f"({run.env.get('starve_rate')}/s over {run.env.get('starve_conns')} connections, {run.env.get('starve_seconds')} s, latency from the scheduled time); the",
            "same PINGs just before, with no sleeper, are the baseline. Latencies in ms; the loop lag is",
            "the largest delay the event loop's own timer saw (stages 3 and 4, INFO loop_lag_max_ms).", "",
            md_table(["server", "baseline p99 [95%]", "sleeping p50", "sleeping p99 [95%]", "p99 ratio [95%]",
                      "loop lag max (ms)"], rows)]


def section_cpu(run):
    if not run.tables["cpu"]:
        return []
    keys = [k for k in run.servers if run.rows("cpu", server=k)]
    cl = sorted({int(r["clients"]) for r in run.tables["cpu"]})
    rows = []
    for k in keys:
        work = run.rows("cpu", server=k)[0]["work"]
        cells = [run.label(k), work]
        for c in cl:
            cells.append(cpu_fig(run, k, c).text(False))
        base = run.values("cpu", "rps", server=k, clients=cl[0])
        for c in cl[1:]:
            cells.append(Ratio(run.values("cpu", "rps", server=k, clients=c), base).text())
        rows.append(cells)
    head = ["server", "work"] + [f"{c} client(s) req/s [95%]" for c in cl] + [f"speed-up at {c} [95%]" for c in cl[1:]]
    return ["## 7. CPU-bound", "",
            f"`DIGEST key {run.env.get('digest_rounds')}` over a {run.env.get('digest_value_bytes')}-byte value from concurrent clients",
            f"(redis-benchmark), on {run.env.get('cpu_count')} CPU(s), not pinned. Redis has no DIGEST: it runs a Lua loop of",
            "similar length, so compare its speed-up, not its requests/s.", "",
            md_table(head, rows)]


NO_FSYNC_FS = ("tmpfs", "ramfs")
# One rotation of a spinning disk, in us, at 7,200 and 15,000 rpm: the least
# an fsync that must reach its platter can wait, before any seek.
ROTATION_US = (60e6 / 15000, 60e6 / 7200)


def aof_tmpfs_note(run):
    fs = run.env.get("aof_fs", "")
    if fs in NO_FSYNC_FS:
        return (f"The results directory, where every server's append-only file was, is on {fs}: an fsync there "
                "reaches no disk and costs next to nothing, so the AOF figures say nothing about a disk "
                "(run the tour with --out on one).")
    return ""


def aof_servers(run):
    return [k for k in run.servers if run.rows("aof", server=k)]


def section_aof(run):
    if not run.tables["aof"] and not run.tables["fsync"]:
        return []
    e = run.env
    d = run.fig("fsync", "us_per_write", "us")
    fs = e.get("aof_fs", "?")
    out = ["## 8. The append-only file (appendfsync always)", ""]
    intro = [f"This machine's fsync: `dd if=/dev/zero of=FILE bs=4k count={e.get('aof_dd_writes')} oflag=dsync` in the results",
             f"directory ({fs}, the file system every server's append-only file was on), once a round (three times in the first): each",
             f"write returns once it is on disk, as an append followed by fdatasync does. **{d.text()} per",
             "synced 4 KiB write** (median over the dd runs, 95% interval)."]
    if d.median:
        lo, hi = (x / d.median for x in ROTATION_US)
        intro += [f"A spinning disk or network block storage takes several milliseconds per fsync (one rotation",
                  f"of a 7,200 rpm disk is {ROTATION_US[1] / 1000:.1f} ms, of a 15,000 rpm one {ROTATION_US[0] / 1000:.0f} ms, before any seek): "
                  f"{num(lo, '.0f')} to {num(hi, '.0f')} times",
                  "this machine's, and every SET a loop thread syncs itself holds every client that much longer."]
    note = aof_tmpfs_note(run)
    if note:
        intro += ["", f"**{note}**"]
    out += intro
    notes = [x for x in e.get("aof_unsupported", "").split("; ") if x]
    if notes:
        out.append("")
    for n in notes:
        k, _, why = n.partition(": ")
        out.append(f"- {run.label(k)} is left out: {why}.")
    keys = aof_servers(run)
    if not keys:
        return out
    c, p = e.get("aof_clients", "50"), e.get("aof_pipeline", "16")
    tests = [("set-c1", "SET, 1 client"), (aof_test(run), f"SET, {c} clients"),
             (aof_test(run, True), f"SET -P {p}, {c} clients")]
    rows = []
    for t, name in tests:
        for k in keys:
            f = Figure(aof_rps(run, k, t), fmt=".0f")
            p99 = Figure(run.values("aof", "p99_ms", server=k, test=t))
            per = Figure(run.values("aof", "writes_per_fsync", server=k, test=t))
            cpu = Figure(run.values("aof", "server_cpu_us_per_req", server=k, test=t))
            rows.append([name, run.label(k)] + fig_cells(f) + [num(p99.median, ".3f"), num(per.median), num(cpu.median)])
    out += ["", f"Closed loop: `redis-benchmark -t set -c C [-P {p}]` on a freshly started server per round with",
            f"`--appendonly FILE --appendfsync {e.get('aof_fsync', 'always')}` (Redis: `--appendonly yes --appendfsync {e.get('aof_fsync', 'always')}`), not pinned;",
            f"each test sized to take about {e.get('aof_bench_ms')} ms on its server. SETs per fdatasync are the",
            "stages' INFO aof_fsyncs over the requests (Redis does not count its syncs); CPU is the",
            "server's, user + system, per request.", "",
            md_table(["test", "server", "req/s", "95% interval", "spread", "runs", "p99 (ms)", "SETs per fdatasync",
                      "CPU us/req"], rows)]
    rows = []
    for k in keys:
        sp50 = Figure(aof_lat(run, k, "open-set", "p50_us"))
        sp99 = Figure(aof_lat(run, k, "open-set"))
        bp50 = Figure(aof_lat(run, k, "open-ping", "p50_us"))
        bp99 = Figure(aof_lat(run, k, "open-ping"))
        bmax = Figure(aof_lat(run, k, "open-ping", "max_us"))
        per = Figure(run.values("aof", "writes_per_fsync", server=k, test="open-set"))
        fmax = Figure(run.values("aof", "aof_fsync_max_us", server=k, test="open-set"), scale=1e-3)
        cmds = [r["loop_longest_cmd"] for r in run.rows("aof", server=k, test="open-set") if r.get("loop_longest_cmd")]
        longest = "-"
        if cmds:
            cmd = max(set(cmds), key=cmds.count)
            us = Figure(run.values("aof", "loop_longest_cmd_us", server=k, test="open-set", loop_longest_cmd=cmd), scale=1e-3)
            longest = f"{cmd} {num(us.median)} ms ({cmds.count(cmd)} of {len(cmds)})"
        rr = run.rows("aof", server=k, test="open-set") + run.rows("aof", server=k, test="open-ping")
        behind = sum(1 for r in rr if lg_behind(r))
        rows.append([run.label(k), num(sp50.median), sp99.text(False), num(bp50.median), bp99.text(False),
                     num(bmax.median), num(per.median), num(fmax.median), longest, f"{behind} of {len(rr)}"])
    secs = f"{float(e.get('aof_load_ms', '0') or 0) / 1000:g}"
    out += ["", f"Open loop: `build/release/bin/loadgen --rate {e.get('aof_rate')} --connections {e.get('aof_load_conns')} --duration {secs} "
            f"--command 'SET tour:aof ...'` (SETs arriving",
            f"at a fixed rate, {e.get('aof_rate_share')} of 1 / the first round's dd time and at most {e.get('aof_rate_max')}/s, the same for every server) and",
            f"meanwhile the bystander, `loadgen --rate {e.get('aof_bystander_rate')} --connections {e.get('aof_bystander_conns')} --command PING`: a client",
            "that never writes. A fresh server per round, pinned as the latency runs are; latencies in ms",
            "from each request's scheduled time. The longest command on the loop is stages 3 and 4's INFO",
            "loop_longest_cmd (in how many runs it was that one), the fdatasync max their aof_fsync_max_us.", "",
            md_table(["server", "SET p50", "SET p99 [95%]", "bystander p50", "bystander p99 [95%]", "bystander max",
                      "SETs per fdatasync", "fdatasync max (ms)", "longest on the loop", "behind"], rows)]
    return out


def machine_section(run):
    e = run.env
    rows = [("CPUs", f"{e.get('cpu_count')} x {e.get('cpu_model')}"), ("kernel", e.get("kernel")), ("OS", e.get("os")),
            ("libuv", e.get("libuv")), ("redis-server", e.get("redis_server")),
            ("redis-benchmark", e.get("redis_benchmark")), ("fd limit (soft = hard)", e.get("fd_limit")),
            ("pinned (latency runs)", f"server to CPU {e.get('server_cpus')}, load generator to CPU {e.get('loadgen_cpus')}"),
            ("gnuplot", e.get("gnuplot")), ("load average (1, 5, 15 min) at start", e.get("load_start")),
            ("load average at the end", e.get("load_end"))]
    out = ["## Machine", "", md_table(["what", "value"], rows), "",
           f"CPU used by other processes than the tour's own, per measurement (share of all CPUs; a timing",
           f"measurement above {BUSY_SHARE:.0%} leaves its claims inconclusive):", ""]
    share_rows = [(r["measurement"], r["seconds"], f"{float(r['others_share']):.1%}",
                   "busy" if float(r["others_share"]) > BUSY_SHARE else "quiet")
                  for r in run.tables["cpu_share"]]
    out.append(md_table(["measurement", "seconds", "other processes' CPU", "machine"], share_rows))
    return out


# ==== Charts ==================================================================


def plot_label(run, key):
    """A chart's shorter label: the chart's footnote explains the star."""
    if key == "stage2-pool":
        return "stage2-pool*"
    if key == "stage2-pool-wide":
        return "stage2-pool**"
    if key == "stage2-pool-default":
        return "stage2-pool"
    return run.label(key)


def write_dat(path, header, rows):
    with open(path, "w") as f:
        f.write(" ".join(header) + "\n")
        for r in rows:
            f.write(" ".join("-" if c is None else str(c) for c in r) + "\n")


def q(s):
    return '"' + s + '"'


def charts(run, here):
    plot = os.path.join(run.out, "plot")
    os.makedirs(plot, exist_ok=True)
    made = []
    if run.tables["idle"]:
        keys = [k for k in ("stage1-threads", "stage2-pool-default", "stage3-eventloop", "stage4-offload", "redis")
                if run.rows("idle", server=k)]
        ns = sorted({int(r["n"]) for r in run.tables["idle"]})
        rows = []
        for n in ns:
            vals, labels = [], []
            for k in keys:
                f = idle_fig(run, k, n)
                held = Figure(run.values("idle", "held", server=k, n=n))
                v = None if f.median is None else max(1, round(f.median))
                vals.append(v)
                lab = "" if v is None else (f"{v} ({held.median:.0f} held)" if held.median < n else str(v))
                labels.append(q(lab))
            rows.append([n] + vals + labels)
        write_dat(os.path.join(plot, "memory.dat"), ["N"] + [q(run.label(k)) for k in keys] +
                  [q("label " + k) for k in keys], rows)
        made.append(("memory", "memory.dat"))
    if run.tables["throughput"]:
        keys = [k for k in run.servers if run.rows("throughput", server=k)]
        for pipe, name in (("1", "unpipelined"), (run.env.get("tp_pipeline", "16"), "pipelined")):
            rows = [[t] + [Figure(tp_values(run, k, pipe, t)).median for k in keys] for t in ("PING_INLINE", "SET", "GET")]
            write_dat(os.path.join(plot, f"throughput_{name}.dat"), ["test"] + [q(plot_label(run, k)) for k in keys], rows)
        made.append(("throughput", "throughput_unpipelined.dat"))
    if run.tables["bursty"]:
        order = ["stage1-threads", "stage2-pool-wide", "stage3-eventloop", "stage4-offload", "redis"]
        keys = [k for k in order if run.rows("bursty", server=k)]
        bs = sorted({int(r["burst"]) for r in run.tables["bursty"]})
        rows = [[q(plot_label(run, k))] + [lat_fig(run, "bursty", k, burst=b).median for b in bs] for k in keys]
        write_dat(os.path.join(plot, "bursty.dat"), ["server"] + [q(f"p99, B={b}") for b in bs], rows)
        made.append(("bursty", "bursty.dat"))
    if run.tables["starvation"]:
        keys = [k for k in run.servers if run.rows("starvation", server=k)]
        rows = []
        for k in keys:
            rows.append([q(plot_label(run, k))] + [
                lat_fig(run, "starvation", k, "p99_us", phase="baseline").median,
                lat_fig(run, "starvation", k, "p50_us", phase="sleeping").median,
                lat_fig(run, "starvation", k, "p99_us", phase="sleeping").median,
                lat_fig(run, "starvation", k, "max_us", phase="sleeping").median])
        write_dat(os.path.join(plot, "starvation.dat"),
                  ["server", q("p99 without the sleeper"), q("p50 with the sleeper"), q("p99 with the sleeper"),
                   q("max with the sleeper")], rows)
        made.append(("starvation", "starvation.dat"))
    if run.tables["cpu"]:
        keys = [k for k in run.servers if run.rows("cpu", server=k)]
        cl = sorted({int(r["clients"]) for r in run.tables["cpu"]})
        # Redis's requests/s are for other work: left out of the first chart
        rows = [[c] + [None if k == "redis" else cpu_fig(run, k, c).median for k in keys] for c in cl]
        head = ["clients"] + [q(plot_label(run, k)) for k in keys]
        write_dat(os.path.join(plot, "cpu.dat"), head, rows)
        rows = [[c] + [Ratio(run.values("cpu", "rps", server=k, clients=c),
                             run.values("cpu", "rps", server=k, clients=cl[0])).median for k in keys] for c in cl]
        write_dat(os.path.join(plot, "cpu_speedup.dat"), head, rows)
        made.append(("cpu", "cpu.dat"))
    keys = aof_servers(run)
    if keys:
        tests = ("set-c1", aof_test(run), aof_test(run, True))
        rows = [[q(n)] + [Figure(aof_rps(run, k, t)).median for k in keys]
                for t, n in zip(tests, ("1 client", f"{run.env.get('aof_clients')} clients",
                                        f"{run.env.get('aof_clients')} clients, -P {run.env.get('aof_pipeline')}"))]
        write_dat(os.path.join(plot, "aof_set.dat"), ["test"] + [q(plot_label(run, k)) for k in keys], rows)
        rows = [[q(n)] + [Figure(aof_lat(run, k, t)).median for k in keys]
                for t, n in (("open-set", "the SETs"), ("open-ping", "the bystander's PINGs"))]
        write_dat(os.path.join(plot, "aof_open.dat"), ["who"] + [q(plot_label(run, k)) for k in keys], rows)
        made.append(("aof", "aof_set.dat"))
    drawn = []
    if not shutil.which("gnuplot"):
        print("report: gnuplot is not installed: no charts (scripts/deps.sh tour installs it)", file=sys.stderr)
        return drawn
    term = "pngcairo" if subprocess.run(["gnuplot", "-e", "set terminal pngcairo"], capture_output=True).returncode == 0 \
        else "png"
    for name, dat in made:
        path = os.path.join(plot, dat)
        with open(path) as f:
            lines = f.read().splitlines()
        ncol = len(re.sub(r'"[^"]*"', "x", lines[0]).split())
        e = (f"term='{term}'; gp='{os.path.join(here, 'plot')}'; dir='{plot}'; out='{os.path.join(run.out, name + '.png')}'; "
             f"ncol={ncol}; nrows={len(lines) - 1}; pipe='{run.env.get('tp_pipeline', '16')}'; "
             f"s2threads='{run.env.get('stage2_load_threads', '')}'; s2wide='{run.env.get('burst_s2_threads', '')}'; "
             f"conns='{run.env.get('burst_conns', '')}'; every='{run.env.get('burst_every_ms', '')}'; sleep_s={run.env.get('starve_sleep', '0.2')}; "
             f"aof_rate='{run.env.get('aof_rate', '')}'; aof_fsync='{run.env.get('aof_fsync', 'always')}'")
        with open(os.path.join(plot, "gnuplot.log"), "a") as log:
            rc = subprocess.run(["gnuplot", "-e", e, os.path.join(here, "plot", name + ".gp")], stderr=log).returncode
        if rc == 0:
            drawn.append(name)
        else:
            print(f"report: gnuplot failed on {name} (see {plot}/gnuplot.log)", file=sys.stderr)
    return drawn


# ==== The summary =============================================================


def report(out):
    here = os.path.dirname(os.path.abspath(__file__))
    run = Run(out)
    claims = evaluate(run)
    e = run.env
    counts = {v: sum(1 for c in claims if c[3][0] == v) for v in VERDICTS}
    tally = ", ".join(f"{counts[v]} {v}" for v in VERDICTS)
    head = ["# The tour: results", "",
            f"The {e.get('set')} set, run {e.get('date')}, took {e.get('elapsed', '?')} s "
            f"(expected about {e.get('expected_seconds')} s). Servers: {e.get('servers')}.",
            f"Measurements: {e.get('measurements', '').replace(',', ' ')}. Each claim's cells ran {e.get('reps_claim')} times, "
            f"the others {e.get('reps_other')}, in a fresh random order each round.", ""]
    if e.get("redis_note"):
        head += [f"**{e['redis_note']}.**", ""]
    if aof_tmpfs_note(run):
        head += [f"**{aof_tmpfs_note(run)}**", ""]
    if e.get("set") == "quick":
        head += ["**The quick set runs each cell 2 or 3 times: it exercises the machinery, too few runs for",
                 "a 95% interval, so its verdicts are inconclusive. `make tour` gives the verdicts.**", ""]
    head += ["## Claims", "",
             "One row per claim the tutorial makes (TUTORIAL.md marks each with its id). Figures are",
             "medians over runs with their 95% interval; a difference holds only when the intervals",
             "separate in the claim's favour, an equality when the ratio's interval lies within",
             f"[{EQUAL_BAND[0]}, {EQUAL_BAND[1]}]; a busy machine (other processes above {BUSY_SHARE:.0%} of the CPU) or a load",
             "generator behind its schedule leaves a timing claim inconclusive.", "",
             claims_table(claims), "", f"Verdicts: {tally}.", ""]
    body = machine_section(run)
    for sec in (section_idle(run), section_throughput(run), section_bursty(run),
                simple_lat_section(run, "reconnect", "## 4. Reconnecting clients",
                                   [f"`build/release/bin/loadgen --sessions-rate {e.get('reconnect_rate')} --requests-per-session "
                                    f"{e.get('reconnect_requests')} --duration {e.get('reconnect_seconds')}`: sessions arrive open-loop, each",
                                    "connects, sends its requests one after the other and closes; a session's first latency",
                                    "includes its connect (and, for stage 1, the thread it starts). Pinned as above."]),
                simple_lat_section(run, "modest", "## 5. Modest concurrency",
                                   [f"`build/release/bin/loadgen --connections C --rate {e.get('modest_rate')} --duration {e.get('modest_seconds')}`: a few dozen",
                                    "persistent clients, requests arriving open-loop at a moderate total rate. Pinned as above."],
                                   "connections"),
                section_starvation(run), section_cpu(run), section_aof(run)):
        if sec:
            body += [""] + sec
    drawn = charts(run, here)
    if drawn:
        body += ["", "## Charts", ""]
        for c in drawn:
            body += [f"![{c}]({c}.png)", ""]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(head + body).rstrip("\n") + "\n")
    print("\n".join(head[:-1]))
    print()
    print(f"elapsed: {e.get('elapsed', '?')} s; summary: {os.path.join(out, 'summary.md')}")
    if drawn:
        print("charts: " + " ".join(os.path.join(out, c + ".png") for c in drawn))


# ==== Checks for make test-docs ===============================================


def read_claims_table(path):
    """The claims table of a summary.md: a list of dicts, or an error."""
    with open(path) as f:
        lines = f.read().splitlines()
    want = "| " + " | ".join(CLAIMS_HEADER) + " |"
    starts = [i for i, l in enumerate(lines) if re.sub(r"\s+", " ", l.strip()) == want]
    if len(starts) != 1:
        raise ValueError(f"{path}: no claims table with the header {want}")
    i = starts[0] + 1
    if not re.fullmatch(r"\|(-+\|)+", lines[i].strip()):
        raise ValueError(f"{path}:{i + 1}: the claims table's header is not followed by its rule")
    rows = []
    for j in range(i + 1, len(lines)):
        l = lines[j].strip()
        if not l.startswith("|"):
            break
        cells = [c.strip() for c in l.strip("|").split("|")]
        if len(cells) != len(CLAIMS_HEADER):
            raise ValueError(f"{path}:{j + 1}: {len(cells)} cells, the claims table has {len(CLAIMS_HEADER)}")
        row = dict(zip(CLAIMS_HEADER, cells))
        row["line"] = j + 1
        rows.append(row)
    return rows


def table_measurements(path):
    """The measurements a summary.md's run made (its "Measurements:" line),
    or None when it has no such line."""
    with open(path) as f:
        for line in f:
            m = re.match(r"Measurements: ([a-z_ ]+)\.", line)
            if m:
                return m.group(1).split()
    return None


def check(summary, texts, markers):
    """The claims table's shape and vocabulary; with markers, the texts'
    [claim ID: VERDICT] marks against it. Returns a list of problems.

    A claim of report.py's may be missing from the table only when the
    table's run did not include its measurement at all (its Measurements
    line): a table made before that measurement existed, such as a
    reference run that predates it. Every table report.py makes has a row
    for every claim, measured or not."""
    problems = []
    try:
        rows = read_claims_table(summary)
        measured = table_measurements(summary)
    except (OSError, ValueError) as e:
        return [str(e)]
    ids = [r["id"] for r in rows]
    known = [c[0] for c in CLAIMS]
    for r in rows:
        if r["verdict"] not in VERDICTS:
            problems.append(f"{summary}:{r['line']}: verdict '{r['verdict']}' is not one of {', '.join(VERDICTS)}")
        if not r["figures: median [95% interval]"] or not r["why"]:
            problems.append(f"{summary}:{r['line']}: {r['id']} has no figures or no reason")
    for cid in ids:
        if ids.count(cid) > 1:
            problems.append(f"{summary}: claim {cid} appears {ids.count(cid)} times")
        if cid not in known:
            problems.append(f"{summary}: claim {cid} is not one of bench/report.py's claims")
    for cid, measurement, _, _ in CLAIMS:
        if cid not in ids and (measured is None or measurement in measured):
            problems.append(f"{summary}: bench/report.py's claim {cid} is missing from the table")
    if markers:
        verdict = {r["id"]: r["verdict"] for r in rows}
        seen = set()
        for text in texts:
            with open(text) as f:
                for n, line in enumerate(f, 1):
                    for m in re.finditer(r"\[claim[^\]]*\]", line):
                        mm = MARKER.fullmatch(m.group(0))
                        if not mm:
                            problems.append(f"{text}:{n}: malformed claim mark {m.group(0)} (want [claim ID: VERDICT])")
                            continue
                        cid, v = mm.groups()
                        seen.add(cid)
                        if cid not in verdict:
                            problems.append(f"{text}:{n}: claim {cid} is not in {summary}'s table")
                        elif v != verdict[cid]:
                            problems.append(f"{text}:{n}: says {cid} {v}, {summary} says {verdict[cid]}")
        for cid in ids:
            if cid not in seen:
                problems.append(f"claim {cid} of {summary} is not marked in {', '.join(texts)}")
    return problems


# ==== Self-test ===============================================================


def self_test():
    failures = []

    def expect(cond, what):
        if not cond:
            failures.append(what)
            print(f"self-test FAILED: {what}", file=sys.stderr)

    # the order-statistic interval: n=10 uses the 2nd and 9th values
    # (coverage 1 - 2 * 11/1024 = 97.85%), n=5 has none at 95%
    k, cov = order_stat_k(10)
    expect(k == 2 and abs(cov - (1 - 22 / 1024)) < 1e-12, f"order_stat_k(10) = {k}, {cov}")
    expect(order_stat_k(5)[0] == 0, "order_stat_k(5) should have no 95% interval")
    expect(order_stat_k(6)[0] == 1, "order_stat_k(6) should be [min, max]")
    expect(order_stat_k(20)[0] == 6, f"order_stat_k(20) = {order_stat_k(20)[0]}, want 6")
    f = Figure(range(1, 11))
    expect((f.median, f.lo, f.hi, f.ok) == (5.5, 2, 9, True), f"Figure(1..10) = {f.median} [{f.lo}, {f.hi}]")
    expect(not Figure([1, 2, 3]).ok, "3 runs must not give a 95% interval")
    # the interval covers the true median about 95% of the time or more
    rng = random.Random(7)
    hits = sum(1 for _ in range(2000) if (lambda g: g.lo <= 0 <= g.hi)(Figure([rng.gauss(0, 1) for _ in range(10)])))
    expect(hits / 2000 >= 0.96, f"order-statistic coverage {hits / 2000:.3f}, want ~0.979")
    # the bootstrap of a ratio: 2x, with an interval around it
    a = [20 + i * 0.1 for i in range(10)]
    b = [10 + i * 0.05 for i in range(10)]
    r = Ratio(a, b)
    expect(abs(r.median - 2.0) < 1e-9 and r.lo < 2.0 < r.hi and r.hi - r.lo < 0.1, f"Ratio = {r.text()}")
    expect(Ratio(a, b).lo == r.lo, "the bootstrap must be reproducible (seeded)")
    # verdicts on constructed cases
    low, high = Figure([1, 1.1, 1.2, 0.9, 1, 1.05, 0.95, 1.1, 1, 1]), Figure([5, 5.5, 6, 4.5, 5, 5.2, 4.8, 5.1, 5, 5])
    near = Figure([1.1, 1.3, 0.9, 1.2, 1.0, 1.15, 1.05, 1.0, 1.2, 0.95])
    expect(v_less(low, high)[0] == "holds", "separated in the claim's favour must hold")
    expect(v_less(high, low)[0] == "contradicted", "separated against the claim must be contradicted")
    expect(v_less(low, near)[0] == "inconclusive", "overlapping intervals must be inconclusive")
    expect(v_less(Figure([1, 1, 1]), Figure([9, 9, 9]))[0] == "inconclusive", "3 runs must be inconclusive")
    same = Ratio([100 + (i % 3) for i in range(10)], [100 + (i % 2) for i in range(10)])
    expect(v_equal(same)[0] == "holds", f"ratio {same.text()} within [0.9, 1.1] must hold")
    far = Ratio([150 + i for i in range(10)], [100 + i for i in range(10)])
    expect(v_equal(far)[0] == "contradicted", f"ratio {far.text()} must be contradicted")
    wide = Ratio([60, 140, 100, 80, 120, 90, 110, 70, 130, 100], [100] * 10)
    expect(v_equal(wide)[0] == "inconclusive", f"ratio {wide.text()} spanning 0.9 must be inconclusive")
    expect(v_below(Figure([500] * 10), 1024)[0] == "holds", "500 < 1024 must hold")
    expect(v_above(Figure([50] * 10), 100)[0] == "contradicted", "50 > 100 must be contradicted")
    expect(v_every_run([True] * 10)[0] == "holds" and v_every_run([False] * 10)[0] == "contradicted"
           and v_every_run([True] * 7 + [False] * 3)[0] == "inconclusive", "v_every_run")
    # a busy machine, or a generator behind, leaves a decided claim inconclusive
    expect(gate(("holds", "x"), "machine busy", "")[0] == "inconclusive", "busy machine must be inconclusive")
    expect(gate(("contradicted", "x"), "", "behind")[0] == "inconclusive", "generator behind must be inconclusive")
    expect(gate(("holds", "x"), "", "") == ("holds", "x"), "a quiet machine keeps the verdict")
    expect(gate(("holds", "x"), "", DROPPED + "1 of 10 runs") == ("holds", f"x ({DROPPED}1 of 10 runs)"),
           "a few runs behind are left out, and the verdict says so")
    rows = [{"server": "s", "lg_status": "1" if i < 3 else "0", "late": "0", "sent": "100"} for i in range(10)]
    fake = type("R", (), {"rows": lambda self, table, server, **m: [r for r in rows if r["server"] == server]})()
    expect(behind_reason(fake, "t", ("s",)).startswith("load generator fell behind"),
           "3 of 10 runs behind must leave the claim inconclusive")
    rows[2]["lg_status"] = "0"
    expect(behind_reason(fake, "t", ("s",)).startswith(DROPPED), "2 of 10 runs behind are only left out")
    expect(not lg_ok({"lg_status": "1", "p99_us": "5"}) and lg_ok({"lg_status": "0", "p99_us": "5", "late": "0", "sent": "9"}),
           "a run whose generator fell behind is left out of the figures")
    expect(combine([("holds", "a"), ("inconclusive", "b")])[0] == "inconclusive"
           and combine([("holds", "a"), ("contradicted", "c"), ("inconclusive", "b")])[0] == "contradicted"
           and combine([("holds", "a"), ("holds", "b")])[0] == "holds", "combine")
    expect(lg_behind({"lg_status": "1"}) and lg_behind({"lg_status": "0", "late": "20", "sent": "1000"})
           and not lg_behind({"lg_status": "0", "late": "5", "sent": "1000"}), "lg_behind")
    expect(not lg_behind({"lg_status": "1", "every_ms": "100", "max_late_us": "15000", "late": "900", "sent": "1000"})
           and lg_behind({"lg_status": "1", "every_ms": "100", "max_late_us": "30000", "late": "900", "sent": "1000"}),
           "lg_behind in burst runs: a burst that is out before a quarter of the period is not behind")
    # a server that leaves over 1% unanswered has a p99 of at least the drain
    class FakeRun:
        env = {"lg_drain": "2"}
    expect(run_lat(FakeRun, {"p99_us": "5000", "sent": "1000", "completed": "950"}, "p99_us") == 2000
           and run_lat(FakeRun, {"p99_us": "5000", "sent": "1000", "completed": "995"}, "p99_us") == 5
           and run_lat(FakeRun, {"p50_us": "300", "sent": "1000", "completed": "950"}, "p50_us") == 0.3,
           "run_lat: unanswered requests count as at least the drain")
    # the busy share, end to end, from a run's cpu_share.csv
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "run.env"), "w") as fh:
            fh.write("servers=stage3-eventloop\ncpu_count=2\n")
        with open(os.path.join(d, "cpu_share.csv"), "w") as fh:
            fh.write("measurement,seconds,cpus,tick_hz,machine_busy_ticks,tour_ticks,others_share\n"
                     "bursty,10,2,100,1500,500,0.5\nmodest,10,2,100,600,500,0.05\n")
        run = Run(d)
        expect(run.busy("bursty").startswith("machine busy") and run.busy("modest") == "", "Run.busy")
        # every claim is inconclusive when nothing was measured, and the
        # table it makes passes its own check
        rows = evaluate(run)
        expect(all(v == "inconclusive" for _, _, _, (v, _) in rows), "claims without data must be inconclusive")
        path = os.path.join(d, "summary.md")
        with open(path, "w") as fh:
            fh.write("# x\n\n" + claims_table(rows) + "\n")
        expect(check(path, [], False) == [], f"check() of a fresh table: {check(path, [], False)}")
        with open(os.path.join(d, "t.md"), "w") as fh:
            fh.write("text [claim idle-memory-loop: holds] and [claim nosuch: holds] [claim broken]\n")
        probs = check(path, [os.path.join(d, "t.md")], True)
        # a table made before a measurement existed may lack its claims,
        # only when its run did not make that measurement
        older = [r for r in rows if r[0] != "aof-bystander"]
        for line, ok in (("Measurements: idle cpu.", True), ("Measurements: idle aof.", False), ("", False)):
            with open(os.path.join(d, "old.md"), "w") as fh:
                fh.write(f"# x\n\n{line}\n\n" + claims_table(older) + "\n")
            p = check(os.path.join(d, "old.md"), [], False)
            expect((p == []) == ok and all("aof-bystander" in x for x in p),
                   f"check() of a table without aof-bystander, '{line}': {p}")
        expect(any("says idle-memory-loop holds" in p for p in probs)
               and any("nosuch is not in" in p for p in probs)
               and any("malformed" in p for p in probs)
               and any("bursty-tail" in p and "not marked" in p for p in probs), f"check() markers: {probs}")
    if failures:
        print(f"report.py --self-test: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("report.py --self-test: statistics and verdicts as expected")
    return 0


def show(summary, ids):
    """The claims' rows of a summary, one figure a line: what chapter 6's
    console blocks print."""
    rows = {r["id"]: r for r in read_claims_table(summary)}
    out = []
    for cid in ids:
        r = rows.get(cid)
        if r is None:
            out.append(f"{cid}: not in {summary}")
            continue
        out.append(f"{cid}: {r['verdict']} ({r['why']})")
        for part in r["figures: median [95% interval]"].split("; "):
            out.append("  " + part)
    return out


def refresh_tutorial(text):
    """Rewrites the expected output of every console command of TEXT that
    reads bench/reference/ (chapter 6's `bench/report.py --show ...`, its
    verdicts and machine), by running it from the repository's root. Claim
    marks ([claim ID: VERDICT]) are left alone: the prose around them is a
    person's to reread (make test-docs lists the ones that disagree)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(text) as f:
        lines = f.read().split("\n")
    out, i, changed = [], 0, 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        if not (line.startswith("  $ ") and "bench/reference/" in line):
            continue
        old = []
        while i < len(lines) and lines[i].startswith("  ") and not lines[i].startswith("  $ "):
            old.append(lines[i])
            i += 1
        res = subprocess.run(["bash", "-c", line[4:]], cwd=root, capture_output=True, text=True)
        new = ["  " + x for x in res.stdout.splitlines()]
        if res.returncode != 0:
            new.append(f"  [{res.returncode}]")  # cram's way of expecting a non-zero status
        changed += new != old
        out += new
    with open(text, "w") as f:
        f.write("\n".join(out))
    print(f"report.py: {changed} console block(s) of {text} rewritten from bench/reference/")


def main(argv):
    if argv[1:2] == ["--self-test"]:
        return self_test()
    if argv[1:2] == ["--check"]:
        if len(argv) < 3:
            print("usage: report.py --check SUMMARY [--markers] [TEXT...]", file=sys.stderr)
            return 2
        markers = "--markers" in argv[3:]
        texts = [a for a in argv[3:] if a != "--markers"]
        problems = check(argv[2], texts, markers)
        for p in problems:
            print(f"test-docs: {p}", file=sys.stderr)
        return 1 if problems else 0
    if argv[1:2] == ["--show"] and len(argv) >= 4:
        print("\n".join(show(argv[2], argv[3:])))
        return 0
    if argv[1:2] == ["--refresh-tutorial"] and len(argv) == 3:
        refresh_tutorial(argv[2])
        return 0
    if argv[1:2] == ["--verdicts"]:
        for r in read_claims_table(argv[2]):
            print(f"{r['id']:<28} {r['verdict']}")
        return 0
    if argv[1:2] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    out = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    if not os.path.exists(os.path.join(out, "run.env")):
        print(f"report: {out}/run.env not found: run bench/tour.sh first", file=sys.stderr)
        return 1
    report(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
