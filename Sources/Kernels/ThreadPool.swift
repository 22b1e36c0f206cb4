import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A persistent pool of worker threads for data-parallel regions.
///
/// One decoded token runs ~190 parallel regions (193 for Qwen2.5-0.5B: 8 per layer and the output head;
/// `bench` counts them), so a region must cost microseconds: workers are started
/// once, spin on an atomic generation counter for a while after each region, and only then park on a
/// condition variable. (`DispatchQueue.concurrentPerform` mostly ran serially here and a `TaskGroup` per
/// region cost 43–67 µs; see ../shared/PERFORMANCE.md.) The calling thread takes part as worker 0.
public final class ThreadPool: @unchecked Sendable {
    public let threadCount: Int

    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private var job: ((Int, Int) -> Void)?
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var threads: [pthread_t] = []
    /// Spin iterations before a worker parks: long enough to bridge the gap between two regions of a
    /// forward pass, short enough that idle workers stop burning a core within a millisecond or so.
    private let spinLimit = 200_000

    public init(threads: Int) {
        threadCount = max(1, threads)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for index in 1 ..< threadCount {
            let box = Unmanaged.passRetained(WorkerStart(pool: self, index: index))
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                let start = Unmanaged<WorkerStart>.fromOpaque(raw).takeRetainedValue()
                start.pool.workerLoop(index: start.index)
                return nil
            }, box.toOpaque())
            if rc == 0 {
                self.threads.append(thread)
            } else {
                box.release()
            }
        }
    }

    deinit {
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_cond_destroy(&wake)
        pthread_mutex_destroy(&mutex)
    }

    /// The physical core count (Linux `/sys` topology), the default thread count: SMT siblings share the
    /// memory bandwidth that decode is bound by and only add synchronisation.
    public static var physicalCores: Int {
        let logical = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var cores = Set<String>()
        for cpu in 0 ..< logical {
            let base = "/sys/devices/system/cpu/cpu\(cpu)/topology/"
            guard let package = readSmallFile(base + "physical_package_id"),
                  let core = readSmallFile(base + "core_id") else { return logical }
            cores.insert(package + ":" + core)
        }
        return max(1, cores.count)
    }

    /// Runs `body(thread, threadCount)` on every thread of the pool and returns when all have finished.
    /// Parallel regions run so far (read by `bench`; the pool is driven from one thread at a time).
    public private(set) var regionCount = 0

    public func run(_ body: (Int, Int) -> Void) {
        regionCount &+= 1
        if threadCount == 1 {
            body(0, 1)
            return
        }
        withoutActuallyEscaping(body) { escaping in
            job = escaping
            pending.store(threadCount - 1, ordering: .sequentiallyConsistent)
            generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
            }
            escaping(0, threadCount)
            while pending.load(ordering: .acquiring) > 0 {}
            job = nil
        }
    }

    /// Splits `0..<count` into one contiguous range per thread and runs `body(start, end)` on each.
    public func parallelFor(_ count: Int, _ body: (Int, Int) -> Void) {
        if count < 2 {  // one item is not a region; with one thread, `run` calls the body inline
            body(0, count)
            return
        }
        run { thread, threads in
            let start = count * thread / threads
            let end = count * (thread + 1) / threads
            if start < end { body(start, end) }
        }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            var current = generation.load(ordering: .acquiring)
            var spins = 0
            while current == seen {
                spins += 1
                if spins >= spinLimit {
                    pthread_mutex_lock(&mutex)
                    sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen {
                        pthread_cond_wait(&wake, &mutex)
                    }
                    sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(&mutex)
                    spins = 0
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            if let job { job(index, threadCount) }
            pending.wrappingSubtract(1, ordering: .releasing)
        }
    }
}

private final class WorkerStart {
    /// Not retained: a strong reference would keep the pool alive forever. `deinit` joins every worker
    /// before the pool's memory goes, so the reference never dangles while a worker runs.
    unowned(unsafe) let pool: ThreadPool
    let index: Int
    init(pool: ThreadPool, index: Int) {
        self.pool = pool
        self.index = index
    }
}

private func readSmallFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 64)
    guard fgets(&buffer, 64, file) != nil else { return nil }
    return String(cString: buffer).filter { !$0.isWhitespace }
}
