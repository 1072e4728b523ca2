"""Build rules for freestanding guest code: libraries and payload ELFs.

Guest code runs with no OS, no libc and no SSE state: these flags come after
the toolchain's own (which adds -fstack-protector and the like) and win.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library")
load("//bazel:copts.bzl", "FAULTLINE_COPTS")

GUEST_COPTS = FAULTLINE_COPTS + [
    "-O2",
    "-ffreestanding",
    "-fno-exceptions",
    "-fno-rtti",
    "-fno-threadsafe-statics",
    "-fno-asynchronous-unwind-tables",
    "-mno-red-zone",
    "-fno-pic",
    "-fno-stack-protector",
    "-mgeneral-regs-only",
]

# Non-PIC objects linked into a static, non-PIE image.
GUEST_FEATURES = ["-pic", "-pie"]

# Images are linked by GNU ld (see guest_image), which lacks gold's
# --start-lib.
_PAYLOAD_FEATURES = GUEST_FEATURES + ["-supports_start_end_lib"]

_LINKER_SCRIPT = "//guest-drivers/runtime:guest.ld"

def guest_library(name, srcs = [], hdrs = [], portable_srcs = [], deps = [], guest_deps = [], alwayslink = False, visibility = None):
    """A freestanding library plus, for host tests, its portable part.

    `name` is built with GUEST_COPTS from `srcs + portable_srcs`.
    `name + "_host"` (testonly) is built for the host from `portable_srcs`
    only: code that needs neither the guest's entry, ports nor memcpy.
    `guest_deps` are other guest_library targets, as full labels (the host
    library uses their _host variants); `deps` are header-only libraries
    both use.
    """
    cc_library(
        name = name,
        srcs = srcs + portable_srcs,
        hdrs = hdrs,
        copts = GUEST_COPTS,
        features = GUEST_FEATURES,
        deps = deps + guest_deps,
        alwayslink = alwayslink,
        # Only the archive: a shared library of non-PIC code cannot link.
        linkstatic = True,
        visibility = visibility,
    )
    cc_library(
        name = name + "_host",
        testonly = True,
        srcs = portable_srcs,
        hdrs = hdrs,
        copts = FAULTLINE_COPTS,
        deps = deps + [dep + "_host" for dep in guest_deps],
        visibility = visibility,
    )

def guest_image(name, srcs, linker_script, deps = [], linkopts = [], testonly = False, visibility = None):
    """A static, non-PIE, libc-free ELF laid out by `linker_script`."""
    cc_binary(
        name = name,
        srcs = srcs,
        copts = GUEST_COPTS,
        features = _PAYLOAD_FEATURES,
        linkstatic = True,
        linkopts = [
            # GNU ld: gold (the toolchain's choice) ignores parts of scripts.
            "-fuse-ld=bfd",
            "-nostdlib",
            "-static",
            "-no-pie",
            "-Wl,--gc-sections",
            "-Wl,--build-id=none",
            "-Wl,-T,$(location %s)" % linker_script,
        ] + linkopts,
        additional_linker_inputs = [linker_script],
        deps = deps,
        testonly = testonly,
        visibility = visibility,
    )

def guest_payload(name, srcs, deps = [], testonly = False, visibility = None):
    """A payload ELF: linked at 1 MiB by the runtime's script, entry first."""
    guest_image(
        name = name,
        srcs = srcs,
        linker_script = _LINKER_SCRIPT,
        deps = deps + ["//guest-drivers/runtime:runtime"],
        testonly = testonly,
        visibility = visibility,
    )

# 32-bit code for multiboot test kernels: i686, no SSE, no libgcc (so no
# 64-bit division), linked as ELF32 by GNU ld. Bazel's C++ toolchain links
# -lstdc++ for the host's 64-bit ABI, so these are compiled and linked by
# one genrule calling the same system compiler directly.
_MULTIBOOT_FLAGS = " ".join([c for c in GUEST_COPTS if c != "-mno-red-zone"] + [
    "-std=c++17",
    "-m32",
    "-march=i686",
    "-fno-pie",
    "-iquote .",
    "-iquote $(GENDIR)",
])

def multiboot_kernel(name, srcs, testonly = False, visibility = None):
    """A multiboot v1 ELF32 kernel (guest-drivers/multiboot): mb_runtime plus srcs."""
    runtime = [
        "//guest-drivers/multiboot:mb_runtime.cc",
        "//guest-drivers/multiboot:mb_runtime.h",
    ]
    headers = [
        "//proto:faultline/v1/wire.h",
        "//proto:guest_abi.h",
        "//proto:pc_machine.h",
    ]
    script = "//guest-drivers/multiboot:multiboot.ld"
    native.genrule(
        name = name,
        srcs = srcs + runtime + headers + [script],
        outs = [name + ".elf"],
        cmd = ("gcc %s -nostdlib -static -no-pie -fuse-ld=bfd " % _MULTIBOOT_FLAGS +
               "-Wl,--gc-sections -Wl,--build-id=none -Wl,--no-warn-rwx-segments " +
               "-Wl,-T,$(location %s) -o $@ " % script +
               " ".join(["$(location %s)" % src for src in srcs if src.endswith(".cc")]) +
               " $(location //guest-drivers/multiboot:mb_runtime.cc)"),
        testonly = testonly,
        visibility = visibility,
    )
