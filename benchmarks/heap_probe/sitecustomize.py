"""What a soak's child process holds inside, for `benchmarks/soak.py live --heap` (docs/reports/soak.md).

Python imports `sitecustomize` at start from the first folder on its path that has one: soak.py puts this folder
first on the Streamlit process's PYTHONPATH and names a file in UNVEIL_HEAP_PROBE. Every UNVEIL_HEAP_PROBE_EVERY
seconds (default 60) a daemon thread appends one JSON line to that file, after a full garbage collection:

    rss_mib       VmRSS
    heap_mib      glibc's heaps (mallinfo2 arena: the main heap and every thread arena, resident or not)
    in_use_mib    what is allocated in them (mallinfo2 uordblks)
    free_mib      what is free in them, kept by glibc (mallinfo2 fordblks)
    mmapped_mib   blocks glibc mapped on their own (mallinfo2 hblkhd), given back to the system when freed
    arenas        glibc's arenas (malloc_info's <heap> entries)
    objects       live objects of the WebRTC path by type (gc.get_objects(): peer connections, workers, frames)
    threads       threads alive

When the file named in UNVEIL_HEAP_PROBE with ".trim" added exists, the next line also calls malloc_trim(0) (glibc
gives the free pages of every arena back) and records "trim": [RSS before, RSS after]; the ".trim" file is removed.
glibc only (Linux); the probe does nothing without UNVEIL_HEAP_PROBE.
"""
import os

# The types counted: what one WebRTC stream makes (aiortc, PyAV, streamlit-webrtc) and what the Live page makes.
COUNTED = ("RTCPeerConnection", "WebRtcWorker", "VideoFrame", "RtpPacket", "JitterFrame", "LiveOverlay", "LiveTracker")


def _probe(out: str, every_s: float) -> None:
    import ctypes
    import gc
    import json
    import re
    import threading
    import time

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                          "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]

    def rss_mib() -> float:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))

    def arenas() -> int:
        xml = out + ".malloc_info.xml"
        stream = libc.fopen(xml.encode(), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        with open(xml) as written:
            return len(re.findall(r"<heap nr=", written.read()))

    def loop() -> None:
        started = time.monotonic()
        while True:
            time.sleep(every_s)
            gc.collect()
            info = libc.mallinfo2()
            objects = dict.fromkeys(COUNTED, 0)
            for thing in gc.get_objects():
                name = type(thing).__name__
                if name in objects:
                    objects[name] += 1
            line = {"s": round(time.monotonic() - started), "rss_mib": rss_mib(), "heap_mib": info.arena / 2**20,
                    "in_use_mib": info.uordblks / 2**20, "free_mib": info.fordblks / 2**20,
                    "mmapped_mib": info.hblkhd / 2**20, "arenas": arenas(), "objects": objects,
                    "threads": threading.active_count()}
            if os.path.exists(out + ".trim"):
                os.remove(out + ".trim")
                before = rss_mib()
                libc.malloc_trim(0)
                line["trim"] = [before, rss_mib()]
            with open(out, "a") as lines:
                lines.write(json.dumps(line) + "\n")

    threading.Thread(target=loop, name="heap-probe", daemon=True).start()


if os.environ.get("UNVEIL_HEAP_PROBE"):
    _probe(os.environ["UNVEIL_HEAP_PROBE"], float(os.environ.get("UNVEIL_HEAP_PROBE_EVERY", "60")))
