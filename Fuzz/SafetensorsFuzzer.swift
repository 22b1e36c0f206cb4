// libFuzzer harness: arbitrary bytes as a safetensors file through `SafetensorsFile`, then every tensor
// it accepts read end to end (the reader promised each lies inside the mapping). Every outcome must be
// a value or a thrown error; a crash, a sanitizer report or a hang is a finding. Built and run by
// scripts/fuzz.sh.
import Foundation
import ModelFiles

/// One scratch file per process (libFuzzer runs inputs one after another on one thread).
nonisolated(unsafe) private var scratchPath: String = {
    let directory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return directory + "/qwentty-fuzz-st-\(getpid()).safetensors"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let file = fopen(scratchPath, "wb") else { return 0 }
    _ = fwrite(data, 1, size, file)
    fclose(file)
    guard let safetensors = try? SafetensorsFile(path: scratchPath) else { return 0 }
    var sum: UInt8 = 0
    for tensor in safetensors.tensors {
        let bytes = UnsafeRawBufferPointer(start: safetensors.data(of: tensor), count: tensor.byteCount)
        for byte in bytes { sum &+= byte }  // ASan reports any byte outside the mapping
    }
    return sum == 255 ? 0 : 0
}
