// Multi-threaded Java workload with one thread state per method, held for
// the whole run so the profile's split does not depend on timing
// (tests/e2e/test_java_states.py):
//   cpuWork        two executor-pool threads burning CPU      -> RUNNABLE
//   holdLock       holds LOCK and sleeps inside it            -> TIMED_WAITING
//   contended      two threads entering LOCK (held above)     -> BLOCKED
//   sleeping       Thread.sleep in a loop                     -> TIMED_WAITING
//   waitForever    Object.wait() with no timeout              -> WAITING
// Usage: java ThreadStates SECONDS
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

public class ThreadStates {
    static final Object LOCK = new Object();
    static final Object NEVER = new Object();
    static volatile boolean running = true;
    static volatile long sink;

    static long cpuWork(long deadline) {
        long x = 1;
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < 100000; i++)
                x = x * 6364136223846793005L + 1442695040888963407L;
        }
        return x;
    }

    static void holdLock(long ms) throws InterruptedException {
        synchronized (LOCK) {
            Thread.sleep(ms);
        }
    }

    static void contended() {
        synchronized (LOCK) {
            sink++;
        }
    }

    static void sleeping() throws InterruptedException {
        while (running)
            Thread.sleep(20);
    }

    static void waitForever() throws InterruptedException {
        synchronized (NEVER) {
            while (running)
                NEVER.wait();
        }
    }

    static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    public static void main(String[] args) throws Exception {
        long ms = (long) (Double.parseDouble(args[0]) * 1000);
        long deadline = System.nanoTime() + ms * 1000000L;
        Thread holder = daemon("holder", () -> {
            try {
                holdLock(ms + 1000);
            } catch (InterruptedException e) {
            }
        });
        while (!holder.getState().equals(Thread.State.TIMED_WAITING))
            Thread.onSpinWait(); // the lock is taken before anyone contends
        for (int i = 0; i < 2; i++)
            daemon("contender-" + i, ThreadStates::contended);
        daemon("sleeper", () -> {
            try {
                sleeping();
            } catch (InterruptedException e) {
            }
        });
        daemon("waiter", () -> {
            try {
                waitForever();
            } catch (InterruptedException e) {
            }
        });
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<Long>> work = new ArrayList<>();
        for (int i = 0; i < 2; i++)
            work.add(pool.submit(() -> cpuWork(deadline)));
        long total = 0;
        for (Future<Long> f : work)
            total += f.get();
        pool.shutdown();
        running = false;
        System.out.println("thread states done: " + (total != 42 ? "ok" : "?"));
    }
}
