// A Java program for the JVM's checked mode, -Xcheck:jni
// (tests/e2e/test_java_checked.py): more Java threads than a JNI local
// frame holds by default (each wall tick's GetAllStackTraces makes one
// local reference per thread), sleeping the whole run, while the main
// thread burns CPU in spin() long enough for several wall ticks and many
// of the VM's periodic signal-handler checks.  Its output is the same
// every run.
// Usage: java -Xcheck:jni CheckedJni SECONDS
import java.util.ArrayList;
import java.util.List;

public class CheckedJni {
    static final int SLEEPERS = 80;
    static volatile boolean running = true;

    static long spin(long deadline) {
        long x = 1;
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < 100000; i++)
                x = x * 6364136223846793005L + 1442695040888963407L;
        }
        return x;
    }

    static void sleeper() {
        try {
            while (running)
                Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public static void main(String[] args) throws Exception {
        double seconds = Double.parseDouble(args[0]);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < SLEEPERS; i++) {
            Thread t = new Thread(CheckedJni::sleeper, "sleeper-" + i);
            t.start();
            threads.add(t);
        }
        long x = spin(System.nanoTime() + (long) (seconds * 1e9));
        running = false;
        for (Thread t : threads)
            t.join();
        System.out.println("checked jni done: " + threads.size() + " threads"
                           + (x == 0 ? "!" : ""));
    }
}
