import json,glob,statistics
res={}
for f in sorted(glob.glob('/tmp/ab/pf-*-*.json')):
    v=f.split('/')[-1].split('-')[1]
    j=json.load(open(f))
    sizes=j['sizes']
    q=sizes[-1]['queries'] if isinstance(sizes,list) else list(sizes.values())[-1]['queries']
    for k,x in q.items():
        c=x['cpu']
        val=c.get('worst_page_over_floor_us',c['over_floor_us'])
        res.setdefault(k,{}).setdefault(v,[]).append((val, c['sqlite_us']))
print(f"{'query':22s} {'base over':>22s} {'pf over':>22s} {'base over/SQL':>18s} {'pf over/SQL':>18s}")
for k,d in res.items():
    b=d['base']; p=d['pf']
    f=lambda L: '/'.join(f"{a:.0f}" for a,_ in L)
    g=lambda L: statistics.median(a/s for a,s in L)
    print(f"{k:22s} {f(b):>22s} {f(p):>22s} {g(b):18.2f} {g(p):18.2f}")
