/*
 * cxx_mix.cc - an ordinary C++ program's CPU profile: sorting, a
 * red-black tree keyed by strings, string building and hashing, all from
 * libstdc++ templates instantiated here, plus allocation in libc.
 *
 * Used to compare cgagent with perf on compiled code (demangled template
 * names, inlined library code, callers through libstdc++ and libc).  It
 * is built like a user's program: -O2, no frame pointers.
 *
 * usage: cxx_mix [CPU_SECONDS]   (default 2; the work is metered by the
 * process's own CPU clock, so the profile's shape does not depend on the
 * machine's speed).  Prints one line that depends only on the rounds run.
 */
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace workload {

static double cpu_seconds()
{
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

template <typename T>
__attribute__((noinline)) uint64_t sort_and_fold(std::vector<T> &v, std::mt19937_64 &rng)
{
    for (auto &x : v)
        x = T(rng() % 1000003);
    std::sort(v.begin(), v.end());
    uint64_t acc = 0;
    for (size_t i = 0; i < v.size(); i += 97)
        acc = acc * 31 + uint64_t(v[i]);
    return acc;
}

struct Inventory {
    std::map<std::string, uint64_t> stock;

    __attribute__((noinline)) void restock(unsigned round, unsigned items)
    {
        for (unsigned i = 0; i < items; i++) {
            std::string key = "sku-" + std::to_string((i * 7919u + round) % 4099u);
            stock[key] += i;
        }
    }

    __attribute__((noinline)) uint64_t audit() const
    {
        uint64_t sum = 0;
        for (const auto &kv : stock)
            sum += kv.second ^ kv.first.size();
        return sum;
    }
};

__attribute__((noinline)) uint64_t count_words(unsigned round)
{
    std::unordered_map<std::string, unsigned> counts;
    std::string text;
    for (unsigned i = 0; i < 3000; i++) {
        text.assign("w");
        text.append(std::to_string((i * 2654435761u + round) % 997u));
        counts[text]++;
    }
    uint64_t h = 0;
    for (const auto &kv : counts)
        h += std::hash<std::string>{}(kv.first) * kv.second;
    return h;
}

} // namespace workload

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 2.0;
    if (!(budget > 0 && budget <= 600)) {
        fprintf(stderr, "usage: cxx_mix [CPU_SECONDS in (0, 600]]\n");
        return 2;
    }
    std::mt19937_64 rng(42);
    std::vector<int> ints(20000);
    std::vector<double> reals(10000);
    workload::Inventory inv;
    uint64_t acc = 0;
    unsigned rounds = 0;
    double until = workload::cpu_seconds() + budget;
    while (workload::cpu_seconds() < until) {
        acc += workload::sort_and_fold(ints, rng);
        acc += workload::sort_and_fold(reals, rng);
        inv.restock(rounds, 2000);
        acc += inv.audit();
        acc += workload::count_words(rounds);
        rounds++;
    }
    printf("cxx_mix: %s\n", acc ? "done" : "done (zero)");
    return 0;
}
