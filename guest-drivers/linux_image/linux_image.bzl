"""linux_initramfs(): a small Linux guest image built by the project.

A busybox-static initramfs whose /init (init.sh, or your own) mounts the
basics, loads the listed kernel modules, runs the kernel command line's
fl_run command and ends the VM with its status. Tools that run inside the
guest are static binaries; kernel modules are .ko (or .ko.xz) files built
against the guest kernel (@testhost_kernel, Debian's 6.12).

    load("//guest-drivers/linux_image:linux_image.bzl", "linux_initramfs")

    linux_initramfs(
        name = "flmem_image",
        tools = ["//guest-drivers/linux:flmem"],        # -> /bin/flmem
        modules = ["//guest-drivers/linux:faultline_ko"],  # -> insmod at boot
    )

Boot it with `vmm --kernel=$(location //guest-drivers/linux_image:kernel)
--initrd=$(location :flmem_image) --cmdline='console=ttyS0 ... fl_run="flmem
check"'`.
"""

def linux_initramfs(
        name,
        init = "//guest-drivers/linux_image:init.sh",
        tools = [],
        modules = [],
        visibility = None,
        testonly = False):
    """Declares NAME.cpio, an initramfs with busybox, `init`, tools, modules.

    Args:
      name: the target; the output is NAME.cpio.
      init: the /init script.
      tools: labels of static executables, installed in /bin by basename.
      modules: labels of kernel modules (.ko or .ko.xz; a filegroup counts
        as its files in order), put in /lib/modules and loaded by init.sh
        in this order before the command runs.
      visibility: the usual.
      testonly: the usual.
    """
    # A label may stand for several files (a filegroup): each becomes one
    # --tool= or --module= argument, in order.
    args = " ".join(
        ["$$(for f in $(locations %s); do printf -- ' --tool=%%s' $$f; done)" % tool
         for tool in tools] +
        ["$$(for f in $(locations %s); do printf -- ' --module=%%s' $$f; done)" % module
         for module in modules],
    )
    native.genrule(
        name = name,
        srcs = [init] + tools + modules,
        outs = [name + ".cpio"],
        # busybox (static) comes from the system, installed by tools/setup.
        cmd = "$(location //guest-drivers/linux_image:make_initramfs.sh) $@ " +
              "--busybox=/bin/busybox --init=$(location %s) " % init + args,
        tools = ["//guest-drivers/linux_image:make_initramfs.sh"],
        visibility = visibility,
        testonly = testonly,
    )
