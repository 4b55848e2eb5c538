//! What the test programs of `testdata/programs` print and exit with, run with the arguments
//! `one` and `two words` and `RLINK_TEST_VAR=set`.

pub struct Expected {
    pub program: &'static str,
    pub stdout: &'static str,
    pub code: i32,
}

pub const HELLO: Expected = Expected {
    program: "hello",
    stdout: "hello from rlink\n",
    code: 0,
};

pub const ARGS_ENV: Expected = Expected {
    program: "args_env",
    stdout: "args: [\"one\", \"two words\"]\nRLINK_TEST_VAR=set\ncwd is absolute: true\n",
    code: 0,
};

pub const THREADS: Expected = Expected {
    program: "threads",
    stdout: "thread 0 counted 5050\nthread 1 counted 5050\nthread 2 counted 5050\nthread 3 counted 5050\n\
             tls destructor 0\ntls destructor 1\ntls destructor 2\ntls destructor 3\nmain counter 0\ntotal 20200\n",
    code: 0,
};

/// `backtrace` is whether a captured backtrace names `main` (it needs symbols: Windows
/// programs without a PDB have none).
pub fn panics(backtrace: bool) -> Expected {
    Expected {
        program: "panics",
        stdout: if backtrace {
            "hook saw: boom at the bottom\ndrop innermost\ndrop outer\ndrop outer\ncaught: true\n\
             hook saw: thread panic\ndrop thread\nthread joined with error: true\nbacktrace names main: true\n"
        } else {
            "hook saw: boom at the bottom\ndrop innermost\ndrop outer\ndrop outer\ncaught: true\n\
             hook saw: thread panic\ndrop thread\nthread joined with error: true\nbacktrace names main: false\n"
        },
        code: 3,
    }
}

pub const FILES_PROCESS: Expected = Expected {
    program: "files_process",
    stdout: "read 2 lines\nchild stdout: child says hi\nchild status: Some(7)\n",
    code: 0,
};

pub const EXIT_CODE: Expected = Expected {
    program: "exit_code",
    stdout: "exiting with 42\n",
    code: 42,
};

pub const DISPATCH: Expected = Expected {
    program: "dispatch",
    stdout: "square 4.0000\ncircle 7.0686\nadd(6, 7) = 13\nmul(6, 7) = 42\nbig sum 6442352640\nzeroed sum 7\n\
             i128 -170141183460469231731687303715884105728 -24305883351495604533098186245126300818\n\
             u128 55555555555555555555555555555555\n\
             floats 0.30000000000000004 1.2345e3 13407807929942595611008317640802934282464207265959107021466054756094376573581619054852612241927956455650759996398703782412109633178814162067569513603268608.000 0.000000000000000000000000000000000000011754944\n",
    code: 0,
};

pub const COLLECTIONS: Expected = Expected {
    program: "collections",
    stdout: "[(\"brown\", 1), (\"dog\", 1), (\"end\", 1), (\"fox\", 1), (\"jumps\", 1), \
             (\"lazy\", 1), (\"over\", 1), (\"quick\", 1), (\"the\", 3)]\n\
             intersection 500\nseeds differ: true\nzeroed sum 3\ntable ends 2654435761 1077200463\nflag 8\n",
    code: 0,
};
