/* Runs a sketch as an Arduino core would: setup() once, then loop() (a fixed number of times
 * here, so that the program ends). See Arduino.h. */
#include "Arduino.h"

StubSerial Serial;
static unsigned long now_us;

unsigned long micros(void) {
    now_us += 10000;
    return now_us;
}

void setup();
void loop();

int main() {
    setup();
    for (unsigned i = 0; i < LOOPS; i++) loop();
    printf("sketch ran %u loops\n", (unsigned)LOOPS);
    return 0;
}
