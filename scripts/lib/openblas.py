"""openblas — run PyTorch on Debian's OpenBLAS when the system's BLAS is the reference one.

Debian's torch calls whatever libblas.so.3 the system selects; the reference BLAS makes training
about 18x slower than OpenBLAS, and PyTorch's side of the evaluation crawls too. When the system
BLAS is the reference one, this unpacks Debian's libopenblas0-pthread into WORK/openblas (apt-get
download, dpkg -x: nothing is installed) and puts its folder first in LD_LIBRARY_PATH, which the
dynamic loader reads when a process starts.

    python3 -m scripts.lib.openblas WORK     prints that folder (nothing when the system's BLAS
                                             is not the reference one): scripts/model/make-model.sh
    openblas.use_openblas(WORK)              re-executes the running Python with it, before torch
                                             is loaded: scripts/model/evaluate_model.py
"""
import glob
import os
import subprocess
import sys

SYSTEM_BLAS = "/usr/lib/x86_64-linux-gnu/libblas.so.3"
PACKAGE = "libopenblas0-pthread"


def library_dir(work):
    """Returns the absolute folder of OpenBLAS's libblas.so.3, unpacked into WORK/openblas the
    first time, or None when the system BLAS is not the reference one; raises OSError or
    subprocess.CalledProcessError when apt-get download or dpkg -x fails."""
    if "/blas/libblas.so.3" not in os.path.realpath(SYSTEM_BLAS):
        return None
    folder = os.path.join(work, "openblas")
    root = os.path.join(folder, "root")
    if not os.path.isdir(root):
        os.makedirs(folder, exist_ok=True)
        subprocess.run(["apt-get", "download", PACKAGE], cwd=folder, stdout=sys.stderr, check=True)
        debs = sorted(glob.glob(os.path.join(folder, PACKAGE + "_*.deb")))
        if not debs:
            raise OSError("apt-get download %s left no .deb in %s" % (PACKAGE, folder))
        subprocess.run(["dpkg", "-x", debs[-1], root], check=True)
    return os.path.abspath(os.path.join(root, "usr/lib/x86_64-linux-gnu/openblas-pthread"))


def use_openblas(work, threads):
    """Returns at once when OpenBLAS is not needed or already first in LD_LIBRARY_PATH; otherwise
    re-executes this Python process (same arguments) with it there and OPENBLAS_NUM_THREADS set to
    threads unless already set; raises as library_dir does."""
    folder = library_dir(work)
    paths = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
    if folder is None or (paths and paths[0] == folder):
        return
    os.environ["LD_LIBRARY_PATH"] = ":".join([folder] + paths)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, sys.orig_argv)


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print("usage: python3 -m scripts.lib.openblas WORK", file=sys.stderr)
        return 2
    folder = library_dir(argv[1])
    if folder:
        print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
