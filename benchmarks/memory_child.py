"""Peak resident memory of one analysis: python benchmarks/memory_child.py FILE [DETECTORS] (prints MB and seconds)."""
import resource, sys, time
from musicforensics import AnalysisConfig
from musicforensics.pipeline.analysis import analyze_file, warm_up
warm_up()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cfg = AnalysisConfig(detectors=tuple(sys.argv[2].split(","))) if len(sys.argv) > 2 else AnalysisConfig()
t = time.perf_counter()
r = analyze_file(sys.argv[1], config=cfg)
print("base_MB", base // 1024, "peak_MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
      "seconds", round(time.perf_counter() - t, 1), r.status, r.audio["duration_s"], r.findings)
