"""e2e_test(): one end-to-end case as a Bazel test.

The case boots nothing itself: e2e_case.sh hands run_case.sh to
//integration/testhost:testhost, which runs it where /dev/kvm exists (a nested
test host here). run_case.sh starts //broker:broker, waits for its ready line,
runs //vmm:vmm with the payload, and checks the outcome.
"""

def _quoted(arg):
    """One sh_test argument, kept whole: Bazel splits args like a shell."""
    return "'" + arg.replace("'", "'\\''") + "'"

def e2e_test(
        name,
        payload = None,
        kernel = None,
        initrd = None,
        initrd_args = "",
        vmm_args = [],
        broker_args = [],
        expect_exit = 0,
        expect_result = "pass",
        vmm_timeout_seconds = 300,
        hook_timeout_seconds = 120,
        before_broker = "",
        before_vmm = "",
        during_vmm = "",
        after_vmm = "",
        data = [],
        testhost_timeout = "9m",
        size = "large",
        tags = [],
        **kwargs):
    """Declares an end-to-end case.

    Args:
      name: the test's name.
      payload: label of a guest payload ELF, e.g. "//guest-drivers/payloads:ramtouch".
      kernel: instead of a payload, a kernel for vmm --kernel: a Linux bzImage
        ("//guest-drivers/linux_image:kernel") or a multiboot kernel; its
        command line goes in vmm_args as "--cmdline=...".
      initrd: with a kernel, the label of its --initrd file.
      initrd_args: words after the initrd's file name ("FILE ARGS", as a
        multiboot module's string).
      vmm_args: extra vmm flags, e.g. ["--memory=64M", "--ram_source=pattern:7"];
        @WORK@ stands for the case's work folder.
      broker_args: extra broker flags; @WORK@ as above.
      expect_exit: the VMM's expected exit status (the guest's debug-exit value).
      expect_result: "pass", "fail" or "any": the payload's last RESULT line.
      vmm_timeout_seconds: how long the VMM may run inside the test host.
      hook_timeout_seconds: how long each hook may run (a Linux boot's
        during_vmm hook waits for user space).
      before_broker: a sh -c command run before the broker starts, with WORK
        set: it may write broker flags to $$WORK/broker.args (one a line) and
        list the pids of services it leaves running in $$WORK/services.pids
        (stopped when the case ends). Empty: none.
      before_vmm: a sh -c command run once the broker is ready, with BROKER
        and WORK set, e.g. "$(rootpath //broker:brokerctl) --broker=$$BROKER
        frames write ..." (Bazel expands $(...) and needs $$ for a shell $;
        name the tool in data). Empty: none.
      during_vmm: the same, started in the background with the VMM, with
        $VMM_PID too (for steps on the running VM: injection, the control
        socket, a broker restart; see run_case.sh).
      after_vmm: the same after the VMM ended, with $VMM_STATUS too.
      data: more runfiles, e.g. tools the hooks use.
      testhost_timeout: testhost's --timeout for boot, case and power off.
      size: the Bazel test size; "large" allows 15 minutes.
      tags: more tags; "exclusive" and "local" are always added (one nested
        test host at a time, outside the sandbox so libvirtd can be started).
      **kwargs: passed to sh_test.
    """
    if (payload == None) == (kernel == None):
        fail("e2e_test %s: give payload or kernel" % name)
    guest = [payload] if payload else [kernel] + ([initrd] if initrd else [])
    guest_args = (["--payload=$(rootpath %s)" % payload] if payload else
                  ["--kernel=$(rootpath %s)" % kernel] +
                  ([_quoted("--initrd=$(rootpath %s)%s" % (
                      initrd,
                      " " + initrd_args if initrd_args else "",
                  ))] if initrd else []))
    native.sh_test(
        name = name,
        size = size,
        srcs = ["//integration/e2e:e2e_case.sh"],
        args = [
            "$(rootpath //integration/testhost:testhost)",
            testhost_timeout,
            "$(rootpath //integration/e2e:run_case.sh)",
            "--broker=$(rootpath //broker:broker)",
            "--vmm=$(rootpath //vmm:vmm)",
        ] + guest_args + [
            "--expect_exit=%d" % expect_exit,
            "--expect_result=" + expect_result,
            "--vmm_timeout=%d" % vmm_timeout_seconds,
            "--hook_timeout=%d" % hook_timeout_seconds,
        ] + [_quoted("--vmm_arg=" + arg) for arg in vmm_args] +
        [_quoted("--broker_arg=" + arg) for arg in broker_args] +
        ([_quoted("--before_broker=" + before_broker)] if before_broker else []) +
        ([_quoted("--before_vmm=" + before_vmm)] if before_vmm else []) +
        ([_quoted("--during_vmm=" + during_vmm)] if during_vmm else []) +
        ([_quoted("--after_vmm=" + after_vmm)] if after_vmm else []),
        data = [
            "//broker:broker",
            "//integration/e2e:run_case.sh",
            "//integration/testhost:testhost",
            "//vmm:vmm",
        ] + guest + data,
        tags = ["exclusive", "local", "e2e"] + tags,
        **kwargs
    )
