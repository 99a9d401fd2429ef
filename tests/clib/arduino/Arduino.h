/*
 * A stand-in for an Arduino core — just what an exported Mote sketch calls — so that the test
 * (tests/clib.rs) can compile the sketch as C++ with arm-none-eabi-g++ against the exported
 * library and run it on the emulated board. Not Arduino's code: Serial prints with printf
 * (semihosting on QEMU), and micros() is a virtual clock that moves 10 ms on every call.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>

unsigned long micros(void);

class StubSerial {
  public:
    void begin(unsigned long) {}
    explicit operator bool() const { return true; }
    void print(const char *text) { printf("%s", text); }
    void print(float value, int digits) { printf("%.*f", digits, (double)value); }
    void println() { printf("\n"); }
    void println(const char *text) { printf("%s\n", text); }
};

extern StubSerial Serial;
