;; RFC 6455 §5.3 masking kernel: XORs memory[ptr, ptr + len) with a 32-bit mask, 64 bytes per
;; loop turn with 128-bit SIMD; bytes past the last multiple of 64 are left to the caller.
;; Its binary is embedded in mask.ts; test/internal/mask.test.ts checks that it matches this text.
(module
  (memory (export "memory") 1)
  (func (export "xor") (param $ptr i32) (param $len i32) (param $mask i32)
    (local $end i32) (local $m v128)
    (local.set $m (i32x4.splat (local.get $mask)))
    (local.set $end (i32.add (local.get $ptr) (i32.and (local.get $len) (i32.const -64))))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (v128.store offset=0 (local.get $ptr) (v128.xor (v128.load offset=0 (local.get $ptr)) (local.get $m)))
        (v128.store offset=16 (local.get $ptr) (v128.xor (v128.load offset=16 (local.get $ptr)) (local.get $m)))
        (v128.store offset=32 (local.get $ptr) (v128.xor (v128.load offset=32 (local.get $ptr)) (local.get $m)))
        (v128.store offset=48 (local.get $ptr) (v128.xor (v128.load offset=48 (local.get $ptr)) (local.get $m)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 64)))
        (br $loop)))))
