package io.sparsetrain.learn.nm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TemperatureScheduleTest {

    @Test
    void constantLinearExponential() {
        assertEquals(1.0, TemperatureSchedule.defaults().tau(12345), 0);
        TemperatureSchedule lin = TemperatureSchedule.linear(2.0, 0.5, 100);
        assertEquals(2.0, lin.tau(0), 1e-12);
        assertEquals(1.25, lin.tau(50), 1e-12);
        assertEquals(0.5, lin.tau(100), 1e-12);
        assertEquals(0.5, lin.tau(1000), 1e-12);
        TemperatureSchedule exp = TemperatureSchedule.exponential(4.0, 0.25, 10);
        assertEquals(4.0, exp.tau(0), 1e-12);
        assertEquals(1.0, exp.tau(5), 1e-12);
        assertEquals(0.25, exp.tau(10), 1e-12);
        for (int t = 1; t <= 10; t++) {
            assertTrue(exp.tau(t) < exp.tau(t - 1));
            assertTrue(lin.tau(t) < lin.tau(t - 1));
        }
        assertTrue(exp.toString().contains("exponential"));
    }

    @Test
    void rejectsBadValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TemperatureSchedule.linear(1.0, 0.0, 10));
        assertTrue(e.getMessage().contains("tau1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TemperatureSchedule.exponential(1, 0.5, 0));
        assertThrows(IllegalArgumentException.class, () -> TemperatureSchedule.defaults().tau(-1));
    }
}
