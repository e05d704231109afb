package io.sparsetrain.prune.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CubicSparsityScheduleTest {

    // era: epochs 30..50 with 100 steps per epoch -> steps 3000..5000
    static final CubicSparsitySchedule S = CubicSparsitySchedule.builder()
            .startEpoch(30).lengthEpochs(20).stepsPerEpoch(100).finalSparsity(0.8).build();

    @ParameterizedTest(name = "step {0} -> {1}")
    @CsvSource({
        "0,    0.0",
        "2999, 0.0",
        "3000, 0.0",       // start: s_i
        "4000, 0.7",       // middle: 0.8 - 0.8 * 0.5^3
        "4500, 0.7875",    // 0.8 - 0.8 * 0.25^3
        "5000, 0.8",       // end
        "9000, 0.8",       // after
    })
    void valuesAtKnownSteps(long step, double expected) {
        assertEquals(expected, S.sparsityAt(step), 1e-12);
    }

    @Test
    void phases() {
        assertTrue(S.isDense(2999));
        assertFalse(S.isPruning(2999));
        assertTrue(S.isPruning(3000));
        assertTrue(S.isPruning(5000));
        assertFalse(S.isFrozen(5000));
        assertTrue(S.isFrozen(5001));
        assertEquals(3000, S.startStep());
        assertEquals(5000, S.endStep());
    }

    @Test
    void initialSparsityAndExponent() {
        CubicSparsitySchedule s = CubicSparsitySchedule.builder().startEpoch(0).lengthEpochs(1).stepsPerEpoch(10)
                .initialSparsity(0.2).exponent(1).finalSparsity(0.6).build();
        assertEquals(0.2, s.sparsityAt(0), 1e-12);
        assertEquals(0.4, s.sparsityAt(5), 1e-12);
        assertEquals(0.6, s.sparsityAt(10), 1e-12);
    }

    @Test
    void monotoneOverTheEra() {
        double prev = 0;
        for (long t = 0; t < 6000; t++) {
            double v = S.sparsityAt(t);
            assertTrue(v >= prev);
            prev = v;
        }
    }

    @Test
    void defaultsAndToString() {
        CubicSparsitySchedule s = CubicSparsitySchedule.builder().stepsPerEpoch(10).finalSparsity(0.5).build();
        assertEquals(CubicSparsitySchedule.DEFAULT_START_EPOCH, s.startEpoch());
        assertEquals(CubicSparsitySchedule.DEFAULT_LENGTH_EPOCHS, s.lengthEpochs());
        assertEquals(3.0, s.exponent());
        assertEquals(0.0, s.initialSparsity());
        String str = s.toString();
        for (String key : new String[] {"startEpoch=30", "lengthEpochs=20", "stepsPerEpoch=10", "exponent=3.0",
            "initialSparsity=0.0", "finalSparsity=0.5"}) {
            assertTrue(str.contains(key), str);
        }
    }

    @Test
    void badSettingsAreRejectedWithTheirValues() {
        assertMessage("finalSparsity must be set and in [0, 1), got 1.2",
                () -> CubicSparsitySchedule.builder().stepsPerEpoch(1).finalSparsity(1.2).build());
        assertMessage("finalSparsity must be set and in [0, 1), got NaN",
                () -> CubicSparsitySchedule.builder().stepsPerEpoch(1).build());
        assertMessage("stepsPerEpoch must be set and >= 1, got 0",
                () -> CubicSparsitySchedule.builder().stepsPerEpoch(0).finalSparsity(0.5).build());
        assertMessage("initialSparsity must be in [0, finalSparsity=0.5], got 0.6",
                () -> CubicSparsitySchedule.builder().stepsPerEpoch(1).initialSparsity(0.6).finalSparsity(0.5)
                        .build());
        assertMessage("lengthEpochs must be >= 1, got 0",
                () -> CubicSparsitySchedule.builder().stepsPerEpoch(1).lengthEpochs(0).finalSparsity(0.5).build());
        assertMessage("startEpoch must be >= 0, got -1",
                () -> CubicSparsitySchedule.builder().stepsPerEpoch(1).startEpoch(-1).finalSparsity(0.5).build());
        assertMessage("exponent must be finite and > 0, got 0.0",
                () -> CubicSparsitySchedule.builder().stepsPerEpoch(1).exponent(0).finalSparsity(0.5).build());
        assertMessage("step must be >= 0, got -5", () -> S.sparsityAt(-5));
    }

    private static void assertMessage(String message, org.junit.jupiter.api.function.Executable e) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, e).getMessage());
    }
}
