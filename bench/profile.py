#!/usr/bin/python3
"""Profiles one server's request path with perf (cpu-clock sampling, DWARF call graphs) while wrk drives a workload.

    bench/profile.py [--server rwsgi] [--workload hello@16] [--seconds 10] [--out DIR]

Starts the server exactly as bench/bench.py does (same app, same httpd.conf), warms it up, records every process of
the server's tree for --seconds under wrk load, and writes DIR/perf.data plus two reports: report-children.txt
(inclusive %, "Children") and report-self.txt (exclusive %). Needs `perf` (apt: linux-perf) with
perf_event_paranoid <= 2 or root. Uses the venv bench/run made. Stdlib only; run with /usr/bin/python3.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def parse_script(text):
    """perf script output -> list of stacks, each a list of 'symbol (dso)' from the root (thread start) to the leaf."""
    stacks = []
    for block in text.split('\n\n'):
        lines = [ln.strip() for ln in block.strip().splitlines()]
        if len(lines) < 2:
            continue
        frames = []
        for ln in lines[1:]:
            parts = ln.split(' ', 1)
            if len(parts) < 2:
                continue
            sym, _, dso = parts[1].rpartition(' (')
            dso = os.path.basename(dso.rstrip(')'))
            if sym in ('[unknown]', ''):
                sym = '?'
            frames.append(f'{sym} [{dso}]')
        stacks.append(frames[::-1])
    return stacks


def summarise(stacks, root_symbol, depth):
    """Inclusive % of all samples of the server's processes: top functions, then the call tree under root_symbol."""
    n = len(stacks) or 1
    incl = {}
    for st in stacks:
        for f in set(st):
            incl[f] = incl.get(f, 0) + 1
    out = [f'{len(stacks)} samples (cpu-clock) over every thread of the server process tree\n',
           'Top functions by inclusive share of all samples:']
    for f, c in sorted(incl.items(), key=lambda kv: -kv[1])[:60]:
        if not f.startswith('?'):
            out.append(f'  {100 * c / n:6.2f}%  {f}')
    # Call tree below root_symbol: merge all occurrences (outermost one per sample), children up to depth.
    tree = {}
    under = 0
    for st in stacks:
        idx = next((i for i, f in enumerate(st) if f.startswith(root_symbol + ' ')), None)
        if idx is None:
            continue
        under += 1
        node = tree
        for f in st[idx + 1:idx + 1 + depth]:
            entry = node.setdefault(f, [0, {}])
            entry[0] += 1
            node = entry[1]
    out.append(f'\nCall tree under {root_symbol}: {100 * under / n:.2f}% of all samples '
               '(each line: inclusive % of all samples; children below 0.3% omitted)')

    def walk(node, indent):
        for f, (c, kids) in sorted(node.items(), key=lambda kv: -kv[1][0]):
            if 100 * c / n < 0.3:
                continue
            out.append(f'{"  " * indent}{100 * c / n:6.2f}%  {f}')
            walk(kids, indent + 1)
    walk(tree, 1)
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--server', default='rwsgi', choices=[c.kind for c in bench.SERVERS if 'daemon' not in c.kind])
    ap.add_argument('--workload', default='hello@16', choices=[w['name'] for w in bench.WORKLOADS])
    ap.add_argument('--seconds', type=int, default=10)
    ap.add_argument('--freq', type=int, default=999)
    ap.add_argument('--out', default=str(bench.BENCH / 'results/profile'))
    ap.add_argument('--root-symbol', default='mod_rwsgi::hooks::handler',
                    help='the function whose call tree summary.txt breaks down')
    ap.add_argument('--threads-per-child', type=int, default=4, help='httpd worker threads per child (2 children)')
    ap.add_argument('--depth', type=int, default=8)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    venv = bench.ensure_venv(quick_check_only=True)
    root = Path(tempfile.mkdtemp(prefix='rwsgi-prof-', dir='/tmp'))
    os.chmod(root, 0o755)
    so = root / 'mod_rwsgi.so'
    shutil.copy(os.environ.get('RWSGI_MODULE', bench.REPO / 'target/release/mod_rwsgi.so'), so)
    os.chmod(so, 0o755)
    bench.write_tree(root, venv)
    ctx = {'root': root, 'venv': venv, 'rwsgi_so': so, 'mods': bench.apxs_q('LIBEXECDIR'),
           'httpd': str(Path(bench.apxs_q('SBINDIR')) / bench.apxs_q('PROGNAME')),
           'mod_wsgi_config': bench.run([str(venv / 'bin/mod_wsgi-express'), 'module-config']),
           'max_keepalive': 100, 'rwsgi_daemon_reason': bench.NOT_BUILT, 'threads_per_child': args.threads_per_child}
    server = {c.kind: c for c in bench.SERVERS}[args.server](ctx)
    w = next(x for x in bench.WORKLOADS if x['name'] == args.workload)
    try:
        server.start()
        url = f'http://127.0.0.1:{server.port}{server.path(w)}'
        bench.wrk(url, w['conns'], '3s', 2, w.get('script'))  # every child has loaded the app
        pids = ','.join(str(p) for p in server.pids())
        load = subprocess.Popen(['wrk', '-t2', f'-c{w["conns"]}', f'-d{args.seconds + 2}s', '--latency', url]
                                + (['-s', str(bench.BENCH / 'lua' / w['script'])] if w.get('script') else []),
                                stdout=subprocess.PIPE, text=True)
        subprocess.run(['perf', 'record', '-q', '-e', 'cpu-clock', '-F', str(args.freq), '--call-graph', 'dwarf,32768',
                        '-p', pids, '-o', str(out / 'perf.data'), '--', 'sleep', str(args.seconds)], check=True)
        wrk_out = load.communicate()[0]
        (out / 'wrk.txt').write_text(wrk_out)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    script = subprocess.run(['perf', 'script', '-i', str(out / 'perf.data'), '-F', 'comm,tid,period,ip,sym,dso',
                             '--no-inline'], capture_output=True, text=True, check=True).stdout
    summary = summarise(parse_script(script), args.root_symbol, args.depth)
    (out / 'summary.txt').write_text(summary)
    print(summary)
    common = ['perf', 'report', '-i', str(out / 'perf.data'), '--stdio']
    with open(out / 'report-children.txt', 'w') as f:
        subprocess.run(common + ['--children', '-g', 'none', '--percent-limit', '0.5',
                                 '--sort', 'dso,symbol'], stdout=f, stderr=subprocess.DEVNULL, check=True)
    with open(out / 'report-self.txt', 'w') as f:
        subprocess.run(common + ['--no-children', '-g', 'none', '--percent-limit', '0.3',
                                 '--sort', 'dso,symbol'], stdout=f, stderr=subprocess.DEVNULL, check=True)
    print(f'wrote {out}/report-children.txt, report-self.txt, perf.data, wrk.txt')


if __name__ == '__main__':
    main()
