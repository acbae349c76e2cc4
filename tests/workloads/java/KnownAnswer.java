import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Java known answer: heavyWork burns 3 units of this thread's CPU time for
 * every unit lightWork burns, and calls lightWork from its own loop, so
 * the CPU samples' self shares are 75:25 by construction (metered with
 * ThreadMXBean, so a busy machine does not move the ratio).
 *
 * Usage: KnownAnswer SECONDS [exit|throw]
 *   prints one line with the CPU time spent; "exit" ends with
 *   System.exit(3), "throw" with an uncaught exception.
 */
public class KnownAnswer {
    static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();
    /* 4 ms of CPU per light unit: a cycle (3 heavy units, 1 light) is
     * 16 ms, four periods of a 250 Hz CPU timer, so every cycle holds 3
     * heavy samples and 1 light one whatever the phase.  A 1 ms unit made
     * the 4 ms cycle one timer period long: one sample per cycle at a
     * phase that drifted slowly, and shares from 71% to 80%. */
    static final long SLICE_NS = 4_000_000;
    static volatile long sink;

    static long spin(long x) {
        for (int i = 0; i < 2000; i++)
            x = x * 6364136223846793005L + 1442695040888963407L;
        return x;
    }

    static void lightWork(long budgetNs) {
        long end = MX.getCurrentThreadCpuTime() + budgetNs;
        long x = sink;
        while (MX.getCurrentThreadCpuTime() < end) {
            for (int i = 0; i < 2000; i++)
                x = x * 2862933555777941757L + 3037000493L;
        }
        sink = x;
    }

    static void heavyWork(long totalNs) {
        long x = sink;
        long done = 0;
        while (done < totalNs) {
            long start = MX.getCurrentThreadCpuTime();
            long end = start + 3 * SLICE_NS;
            while (MX.getCurrentThreadCpuTime() < end)
                for (int i = 0; i < 2000; i++)
                    x = x * 6364136223846793005L + 1442695040888963407L;
            sink = x;
            lightWork(SLICE_NS);
            done += MX.getCurrentThreadCpuTime() - start;
        }
    }

    public static void main(String[] args) {
        double seconds = Double.parseDouble(args[0]);
        heavyWork((long) (seconds * 1e9));
        System.out.println("known answer done: " + (sink != 0 ? "ok" : "zero"));
        if (args.length > 1 && args[1].equals("exit")) {
            System.err.println("leaving with status 3");
            System.exit(3);
        }
        if (args.length > 1 && args[1].equals("throw"))
            throw new IllegalStateException("uncaught on purpose");
    }
}
