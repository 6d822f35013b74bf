"""Compiled kernels that evaluate a special function and its derivative in one pass.

Eager reverse (and forward) mode needs f(x) now and f'(x) later; with SciPy as the only
kernel, f' costs a second call as expensive as the first (j0' = -j1, i0' = i1). The
fixed-order Bessel functions come in pairs (F_0, F_1) whose Cephes algorithms (the ones
SciPy uses; coefficients from Cephes 2.8, S. L. Moshier, BSD) share the argument
reduction, the square root, the exponential or the sine and cosine, so one loop that
evaluates both costs little more than one function:

    j0' = -j1,  j1' = j0 - j1/x,  y0' = -y1,  y1' = y0 - y1/x,
    i0' = i1,   i1' = i0 - i1/x,  i0e' = i1e - sign(x) i0e,
    i1e' = i0e - (1/x + sign(x)) i1e,   with j1'(0) = i1'(0) = i1e'(0) = 1/2.

This module imports Numba (the optional ``jit`` extra) when it is imported; riesz imports
it only on the first call that can use it (`joint`), so without Numba nothing changes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as _sp
from numba import njit

__all__ = ["beta_accepts", "beta_partials", "betainc", "gammainc", "ikv", "joint",
           "rgamma", "rgamma_derivative"]

# -- Cephes coefficients ------------------------------------------------------------------
# j0.c: J0 on [0, 5] as (z - r1)(z - r2) RP(z)/RQ(z), z = x²; Hankel's expansion beyond.
_J0_RP = (-4.79443220978201773821E9, 1.95617491946556577543E12, -2.49248344360967716204E14,
          9.70862251047306323952E15)
_J0_RQ = (4.99563147152651017219E2, 1.73785401676374683123E5, 4.84409658339962045305E7,
          1.11855537045356834862E10, 2.11277520115489217587E12, 3.10518229857422583814E14,
          3.18121955943204943306E16, 1.71086294081043136091E18)
_J0_DR1, _J0_DR2 = 5.78318596294678452118E0, 3.04712623436620863991E1
_J0_PP = (7.96936729297347051624E-4, 8.28352392107440799803E-2, 1.23953371646414299388E0,
          5.44725003058768775090E0, 8.74716500199817011941E0, 5.30324038235394892183E0,
          9.99999999999999997821E-1)
_J0_PQ = (9.24408810558863637013E-4, 8.56288474354474431428E-2, 1.25352743901058953537E0,
          5.47097740330417105182E0, 8.76190883237069594232E0, 5.30605288235394617618E0,
          1.00000000000000000218E0)
_J0_QP = (-1.13663838898469149931E-2, -1.28252718670509318512E0, -1.95539544257735972385E1,
          -9.32060152123768231369E1, -1.77681167980488050595E2, -1.47077505154951170175E2,
          -5.14105326766599330220E1, -6.05014350600728481186E0)
_J0_QQ = (6.43178256118178023184E1, 8.56430025976980587198E2, 3.88240183605401609683E3,
          7.24046774195652478189E3, 5.93072701187316984827E3, 2.06209331660327847417E3,
          2.42005740240291393179E2)
_Y0_YP = (1.55924367855235737965E4, -1.46639295903971606143E7, 5.43526477051876500413E9,
          -9.82136065717911466409E11, 8.75906394395366999549E13, -3.46628303384729719441E15,
          4.42733268572569800351E16, -1.84950800436986690637E16)
_Y0_YQ = (1.04128353664259848412E3, 6.26107330137134956842E5, 2.68919633393814121987E8,
          8.64002487103935000337E10, 2.02979612750105546709E13, 3.17157752842975028269E15,
          2.50596256172653059228E17)
# j1.c
_J1_RP = (-8.99971225705559398224E8, 4.52228297998194034323E11, -7.27494245221818276015E13,
          3.68295732863852883286E15)
_J1_RQ = (6.20836478118054335476E2, 2.56987256757748830383E5, 8.35146791431949253037E7,
          2.21511595479792499675E10, 4.74914122079991414898E12, 7.84369607876235854894E14,
          8.95222336184627338078E16, 5.32278620332680085395E18)
_J1_PP = (7.62125616208173112003E-4, 7.31397056940917570436E-2, 1.12719608129684925192E0,
          5.11207951146807644818E0, 8.42404590141772420927E0, 5.21451598682361504063E0,
          1.00000000000000000254E0)
_J1_PQ = (5.71323128072548699714E-4, 6.88455908754495404082E-2, 1.10514232634061696926E0,
          5.07386386128601488557E0, 8.39985554327604159757E0, 5.20982848682361821619E0,
          9.99999999999999997461E-1)
_J1_QP = (5.10862594750176621635E-2, 4.98213872951233449420E0, 7.58238284132545283818E1,
          3.66779609360150777800E2, 7.10856304998926107277E2, 5.97489612400613639965E2,
          2.11688757100572135698E2, 2.52070205858023719784E1)
_J1_QQ = (7.42373277035675149943E1, 1.05644886038262816351E3, 4.98641058337653607651E3,
          9.56231892404756170795E3, 7.99704160447350683650E3, 2.82619278517639096600E3,
          3.36093607810698293419E2)
_Y1_YP = (1.26320474790178026440E9, -6.47355876379160291031E11, 1.14509511541823727583E14,
          -8.12770255501325109621E15, 2.02439475713594898196E17, -7.78877196265950026825E17)
_Y1_YQ = (5.94301592346128195359E2, 2.35564092943068577943E5, 7.34811944459721705660E7,
          1.87601316108706159478E10, 3.88231277496238566008E12, 6.20557727146953693363E14,
          6.87141087355300489866E16, 3.97270608116560655612E18)
_J1_Z1, _J1_Z2 = 1.46819706421238932572E1, 4.92184563216946036703E1
# i0.c, i1.c: Chebyshev series of e^-x I(x) on [0, 8] and of e^-x sqrt(x) I(x) on [8, inf)
_I0_A = (-4.41534164647933937950E-18, 3.33079451882223809783E-17, -2.43127984654795469359E-16,
         1.71539128555513303061E-15, -1.16853328779934516808E-14, 7.67618549860493561688E-14,
         -4.85644678311192946090E-13, 2.95505266312963983461E-12, -1.72682629144155570723E-11,
         9.67580903537323691224E-11, -5.18979560163526290666E-10, 2.65982372468238665035E-9,
         -1.30002500998624804212E-8, 6.04699502254191894932E-8, -2.67079385394061173391E-7,
         1.11738753912010371815E-6, -4.41673835845875056359E-6, 1.64484480707288970893E-5,
         -5.75419501008210370398E-5, 1.88502885095841655729E-4, -5.76375574538582365885E-4,
         1.63947561694133579842E-3, -4.32430999505057594430E-3, 1.05464603945949983183E-2,
         -2.37374148058994688156E-2, 4.93052842396707084878E-2, -9.49010970480476444210E-2,
         1.71620901522208775349E-1, -3.04682672343198398683E-1, 6.76795274409476084995E-1)
_I0_B = (-7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
         3.46122286769746109310E-17, -2.82762398051658348494E-16, -3.42548561967721913462E-16,
         1.77256013305652638360E-15, 3.81168066935262242075E-15, -9.55484669882830764870E-15,
         -4.15056934728722208663E-14, 1.54008621752140982691E-14, 3.85277838274214270114E-13,
         7.18012445138366623367E-13, -1.79417853150680611778E-12, -1.32158118404477131188E-11,
         -3.14991652796324136454E-11, 1.18891471078464383424E-11, 4.94060238822496958910E-10,
         3.39623202570838634515E-9, 2.26666899049817806459E-8, 2.04891858946906374183E-7,
         2.89137052083475648297E-6, 6.88975834691682398426E-5, 3.36911647825569408990E-3,
         8.04490411014108831608E-1)
_I1_A = (2.77791411276104639959E-18, -2.11142121435816608115E-17, 1.55363195773620046921E-16,
         -1.10559694773538630805E-15, 7.60068429473540693410E-15, -5.04218550472791168711E-14,
         3.22379336594557470981E-13, -1.98397439776494371520E-12, 1.17361862988909016308E-11,
         -6.66348972350202774223E-11, 3.62559028155211703701E-10, -1.88724975172282928790E-9,
         9.38153738649577178388E-9, -4.44505912879632808065E-8, 2.00329475355213526229E-7,
         -8.56872026469545474066E-7, 3.47025130813767847674E-6, -1.32731636560394358279E-5,
         4.78156510755005422638E-5, -1.61760815825896745588E-4, 5.12285956168575772895E-4,
         -1.51357245063125314899E-3, 4.15642294431288815669E-3, -1.05640848946261981558E-2,
         2.47264490306265168283E-2, -5.29459812080949914269E-2, 1.02643658689847095384E-1,
         -1.76416518357834055153E-1, 2.52587186443633654823E-1)
_I1_B = (7.51729631084210481353E-18, 4.41434832307170791151E-18, -4.65030536848935832153E-17,
         -3.20952592199342395980E-17, 2.96262899764595013876E-16, 3.30820231092092828324E-16,
         -1.88035477551078244854E-15, -3.81440307243700780478E-15, 1.04202769841288027642E-14,
         4.27244001671195135429E-14, -2.10154184277266431302E-14, -4.08355111109219731823E-13,
         -7.19855177624590851209E-13, 2.03562854414708950722E-12, 1.41258074366137813316E-11,
         3.25260358301548823856E-11, -1.89749581235054123450E-11, -5.58974346219658380687E-10,
         -3.83538038596423702205E-9, -2.63146884688951950684E-8, -2.51223623787020892529E-7,
         -3.88256480887769039346E-6, -1.10588938762623716291E-4, -9.76109749136146840777E-3,
         7.78576235018280120474E-1)
# psi.c: ψ on [1, 2] as (x - root)(Y + P(x - 1)/Q(x - 1)) (rational part from Boost, J.
# Maddock), the asymptotic series beyond 10
_PSI_A = (8.33333333333333333333E-2, -2.10927960927960927961E-2, 7.57575757575757575758E-3,
          -4.16666666666666666667E-3, 3.96825396825396825397E-3, -8.33333333333333333333E-3,
          8.33333333333333333333E-2)
_PSI_P = (-0.0020713321167745952, -0.045251321448739056, -0.28919126444774784,
          -0.65031853770896507, -0.32555031186804491, 0.25479851061131551)
_PSI_Q = (-0.55789841321675513e-6, 0.0021284987017821144, 0.054151797245674225,
          0.43593529692665969, 1.4606242909763515, 2.0767117023730469, 1.0)
_PSI_Y = 0.99558162689208984  # (a float32 constant in Cephes: exact in float64)
_PSI_ROOT1 = 1569415565.0 / 1073741824.0
_PSI_ROOT2 = (381566830.0 / 1073741824.0) / 1073741824.0
_PSI_ROOT3 = 0.9016312093258695918615325266959189453125e-19
_EULER = 0.577215664901532860606512090082402431

_I01_A = tuple(zip(_I0_A, (0.0, *_I1_A), strict=True))
_I01_B = tuple(zip(_I0_B, _I1_B, strict=True))

# Numba reads global arrays as constants; a tuple indexed by a loop variable would be
# copied to the stack on every access
_g = globals()
for _name in [n for n in _g if n[:4] in ("_J0_", "_J1_", "_Y0_", "_Y1_", "_I0_", "_I1_",
                                         "_I01", "_PSI")
              and isinstance(_g[n], tuple)]:
    _g[_name] = np.array(_g[_name])
del _g, _name

_PIO4, _THPIO4 = 0.78539816339744830962, 2.35619449019234492885
_SQ2OPI, _SQ1OPI = 7.9788456080286535587989E-1, 5.64189583547756286948E-1
_SQRT1_2, _TWO_OVER_PI = 0.70710678118654752440, 0.63661977236758134308
_SQRT_EPS, _MAXLOG = 1.490116119384765625e-8, 7.09782712893383996843E2


# -- evaluation helpers (Horner, Horner with leading 1, Clenshaw) ---------------------------
@njit(inline="always", cache=True, error_model="numpy")
def _polevl(x: float, c: Any) -> float:
    a = c[0]
    for i in range(1, len(c)):
        a = a * x + c[i]
    return a


@njit(inline="always", cache=True, error_model="numpy")
def _p1evl(x: float, c: Any) -> float:
    a = x + c[0]
    for i in range(1, len(c)):
        a = a * x + c[i]
    return a


@njit(inline="always", cache=True, error_model="numpy")
def _chbevl(x: float, c: Any) -> float:
    b0, b1, b2 = c[0], 0.0, 0.0
    for i in range(1, len(c)):
        b2 = b1
        b1 = b0
        b0 = x * b1 - b2 + c[i]
    return 0.5 * (b0 - b2)


@njit(inline="always", cache=True, error_model="numpy")
def _chbevl2(x: float, c: Any) -> tuple[float, float]:
    """Two Chebyshev series in one loop (`c`: pairs of coefficients, the shorter series
    padded with leading zeros, which leave Clenshaw's recurrence unchanged): the two
    dependency chains interleave instead of running one after the other."""
    b0, b1, b2 = c[0][0], 0.0, 0.0
    e0, e1, e2 = c[0][1], 0.0, 0.0
    for i in range(1, len(c)):
        b2 = b1
        b1 = b0
        b0 = x * b1 - b2 + c[i][0]
        e2 = e1
        e1 = e0
        e0 = x * e1 - e2 + c[i][1]
    return 0.5 * (b0 - b2), 0.5 * (e0 - e2)


@njit(inline="always", cache=True, error_model="numpy")
def _hankel(ax: float) -> tuple[float, float, float, float, float]:
    """The asymptotic parts shared by J and Y for x > 5: w = 5/x and the rational
    functions P0, Q0, P1, Q1 of (5/x)²."""
    w = 5.0 / ax
    z = 25.0 / (ax * ax)
    p0 = _polevl(z, _J0_PP) / _polevl(z, _J0_PQ)
    q0 = _polevl(z, _J0_QP) / _p1evl(z, _J0_QQ)
    z1 = w * w
    p1 = _polevl(z1, _J1_PP) / _polevl(z1, _J1_PQ)
    q1 = _polevl(z1, _J1_QP) / _p1evl(z1, _J1_QQ)
    return w, p0, q0, p1, q1


@njit(inline="always", cache=True, error_model="numpy")
def _j01_small(ax: float) -> tuple[float, float]:
    """J0(x), J1(x) for 0 <= x <= 5."""
    z = ax * ax
    if ax < 1.0e-5:
        a0 = 1.0 - z / 4.0
    else:
        a0 = (z - _J0_DR1) * (z - _J0_DR2)
        a0 = a0 * _polevl(z, _J0_RP) / _p1evl(z, _J0_RQ)
    if ax < _SQRT_EPS:
        a1 = 0.5 * ax
    else:
        a1 = _polevl(z, _J1_RP) / _p1evl(z, _J1_RQ)
        a1 = a1 * ax * (z - _J1_Z1) * (z - _J1_Z2)
    return a0, a1


@njit(inline="always", cache=True, error_model="numpy")
def _psi_12(x: float) -> float:
    """ψ(x) for 1 <= x <= 2."""
    g = x - _PSI_ROOT1
    g -= _PSI_ROOT2
    g -= _PSI_ROOT3
    r = _polevl(x - 1.0, _PSI_P) / _polevl(x - 1.0, _PSI_Q)
    return g * _PSI_Y + g * r


@njit(inline="always", cache=True, error_model="numpy")
def _psi_positive(x: float) -> float:
    """ψ(x) for x > 0 (finite or inf) as Cephes' psi: exact harmonic sums at the integers up
    to 10, the recurrence into [1, 2] and a rational function there, the asymptotic series
    from 10 on."""
    y = 0.0
    if x <= 10.0 and x == math.floor(x):
        for i in range(1, int(x)):
            y += 1.0 / i
        return y - _EULER
    if x < 1.0:
        y = -1.0 / x
        x += 1.0
    elif x < 10.0:
        while x > 2.0:
            x -= 1.0
            y += 1.0 / x
    if x <= 2.0:
        return y + _psi_12(x)
    if x < 1.0e17:
        z = 1.0 / (x * x)
        t = z * _polevl(z, _PSI_A)
    else:
        t = 0.0
    return y + (math.log(x) - 0.5 / x - t)


@njit(cache=True, error_model="numpy")
def _beta_partials(a: Any, b: Any, ans: Any, times_ans: bool, da: Any, db: Any) -> None:
    """∂a = ψ(a) - ψ(a + b), ∂b = ψ(b) - ψ(a + b) (of log B; times B(a, b) = `ans` for
    B), for a, b > 0."""
    for k in range(a.size):
        ak, bk = np.float64(a[k]), np.float64(b[k])
        common = _psi_positive(ak + bk)
        pa = _psi_positive(ak) - common
        pb = _psi_positive(bk) - common
        if times_ans:
            pa *= ans[k]
            pb *= ans[k]
        da[k] = pa
        db[k] = pb


@njit(inline="always", cache=True, error_model="numpy")
def _rgamma_d(xk: float, ans: float) -> float:
    """(1/Γ)'(x) = -ψ(x)/Γ(x), `ans` = 1/Γ(x); for x <= 0 with ψ(x) = ψ(1-x) - π/tan(π r),
    r = x - rint(x) (exact), and (-1)^n n! at the zeros x = -n (as riesz's NumPy rule)."""
    positive = xk > 0.0
    p = _psi_positive(xk if positive else 1.0 - xk)  # (one call site: fewer mispredictions)
    if not positive:
        r = xk - np.rint(xk)
        if r == 0.0:
            n = -xk
            return (-1.0 if n % 2.0 == 1.0 else 1.0) * math.gamma(n + 1.0)
        p -= math.pi / math.tan(math.pi * r)
    return -p * ans


@njit(cache=True, error_model="numpy")
def _rgamma_derivative(x: Any, ans: Any, d: Any) -> None:
    """`_rgamma_d` on arrays."""
    for k in range(x.size):
        d[k] = _rgamma_d(np.float64(x[k]), np.float64(ans[k]))


# rgamma.c: 1/(x Γ(x)) - 1 on [0, 1] as a Chebyshev series in 4x - 2
_RGAMMA_R = np.array([
    3.13173458231230000000E-17, -6.70718606477908000000E-16, 2.20039078172259550000E-15,
    2.47691630348254132600E-13, -6.60074100411295197440E-12, 5.13850186324226978840E-11,
    1.08965386454418662084E-9, -3.33964630686836942556E-8, 2.68975996440595483619E-7,
    2.96001177518801696639E-6, -8.04814124978471142852E-5, 4.16609138709688864714E-4,
    5.06579864028608725080E-3, -6.41925436109158228810E-2, -4.98558728684003594785E-3,
    1.27546015610523951063E-1])


_RGAMMA_RECUR = 10.0  # (Cephes: 4; the recurrences are as accurate as its Γ up to 10, and
# faster than Γ and ψ apart)


@njit(cache=True, error_model="numpy")
def _rgamma_joint(x: Any, f: Any, d: Any) -> None:
    """1/Γ(x) as Cephes' rgamma and its derivative in the same pass. For |x| <= 4 the
    recurrences take x to w in (0, 1] (z = the product of the factors), where
    1/Γ(w) = w R(w), R = 1 + a Chebyshev series; the same factors give ψ(x) = ψ(w) + s
    (s = Σ ± 1/factor), ψ(w) = ψ(1+w) - 1/w, so that
        (1/Γ)'(x) = -ψ(x)/Γ(x) = (1 - w (ψ(1+w) + s)) R(w)/z,
    free of the 0 · ∞ at the zeros of 1/Γ (where w -> 0). Beyond: 1/Γ(x) and `_rgamma_d`.
    0 at the poles (x itself at ±0) with derivative (-1)^n n!."""
    for k in range(x.size):
        xk = np.float64(x[k])  # (float() keeps float32 in Numba)
        if xk == 0.0 or (xk < 0.0 and xk == math.floor(xk)):
            f[k] = xk if xk == 0.0 else 0.0
            n = -xk
            d[k] = (-1.0 if n % 2.0 == 1.0 else 1.0) * math.gamma(n + 1.0)
            continue
        if not abs(xk) <= _RGAMMA_RECUR:  # (NaN too)
            ans = 1.0 / math.gamma(xk)
            f[k] = ans
            d[k] = _rgamma_d(xk, ans)
            continue
        z, w, sm, sm_last = 1.0, xk, 0.0, 0.0
        while w > 1.0:  # downward recurrence
            w -= 1.0
            z *= w
            sm_last = sm
            sm += 1.0 / w
        while w < 0.0:  # upward recurrence
            q = 1.0 / w
            z *= q
            sm -= q
            w += 1.0
        if w == 1.0:  # an integer: ψ(1) = -γ
            f[k] = 1.0 / z
            d[k] = (_EULER - sm) / z
            continue
        r = 1.0 + _chbevl(4.0 * w - 2.0, _RGAMMA_R)
        ans = w * r / z
        f[k] = ans
        if xk > 1.0:  # ψ(x) = ψ(1+w) + the sum without its last term 1/w (no cancellation
            d[k] = -(_psi_12(1.0 + w) + sm_last) * ans  # at the zero of ψ near 1.46)
        else:
            d[k] = (1.0 - w * (_psi_12(1.0 + w) + sm)) * r / z


_EPS = 2.0 ** -53


@njit(cache=True, error_model="numpy")
def _gammainc_joint(a: Any, x: Any, upper: bool, f: Any, da: Any, dx: Any) -> None:
    """P(a, x) (Q = 1 - P with `upper`) and its partials for a > 0, 0 < x < inf: ∂x P the
    density e^-x x^(a-1)/Γ(a); P and ∂a P by riesz's series (x < a + 1), else Q and ∂a Q by
    Legendre's continued fraction with its a-derivative alongside (Lentz), as
    `special._gammainc_da_chunk` (Cephes' igam takes the same two expansions for a <= 20).
    A value that would be 1 - (more than 1/2) is left NaN, for the caller to fill."""
    for k in range(a.size):
        ak, xk = np.float64(a[k]), np.float64(x[k])
        lg, lx = math.lgamma(ak), math.log(xk)
        lo = lx - _psi_positive(ak)
        if xk < ak + 1.0:  # P = D Σ c_j, ∂a P = D (L S0 - S1)
            lo -= 1.0 / ak
            d = math.exp(ak * lx - xk - lg - math.log(ak))
            aj, c, h, s0, s1 = ak, 1.0, 0.0, 1.0, 0.0
            ab = abs(lo)
            for _ in range(100_000):
                aj += 1.0
                r = 1.0 / aj
                c *= xk * r
                h += r
                s0 += c
                s1 += c * h
                if c * (h + ab + 1.0) <= _EPS * (s1 + ab * s0):
                    break
            p, g = d * s0, d * (lo * s0 - s1)
            v = p if not upper else (1.0 - p if p <= 0.5 else math.nan)  # (NaN: SciPy's Q)
        else:  # Q = q0 h, ∂a Q = q0 h (L + h'/h)
            q0 = math.exp(ak * lx - xk - lg)
            b = xk + 1.0 - ak
            dd = 1.0 / b
            ud, inv_c, uc, lh, h = dd, 1e-300, 0.0, dd, dd
            for i in range(1, 100_000):
                ai = (ak - i) * i
                b += 2.0
                t2 = ai * dd
                t3 = 1.0 / (t2 + b)
                t4 = (1.0 - (dd * i + t2 * ud)) * t3
                dd, ud = t3, t4
                cn = ai * inv_c + b
                inv_cn = 1.0 / cn
                uc = ((i - ai * uc) * inv_c - 1.0) * inv_cn
                inv_c = inv_cn
                t4 += uc
                lh += t4
                delta = cn * t3
                h *= delta
                if abs(delta - 1.0) <= _EPS and abs(t4) <= _EPS * (abs(lh) + 1.0):
                    break
            q = q0 * h
            g = -q * (lo + lh)
            v = q if upper else (1.0 - q if q <= 0.5 else math.nan)
        f[k] = v
        sign = -1.0 if upper else 1.0
        da[k] = sign * g
        dx[k] = sign * math.exp((ak - 1.0) * lx - xk - lg)


@njit(inline="always", cache=True, error_model="numpy")
def _betainc_cf_step(dk: float, dp: float, dq: float, c: float, d: float, ucp: float,
                     udp: float, ucq: float, udq: float) -> tuple[float, ...]:
    """One Lentz step of t = 1 + d_1/(1 + d_2/(1 + ...)) with coefficient d_k (∂p d_k = dp,
    ∂q d_k = dq): C_k = 1 + d_k/C, D_k = 1/(1 + d_k D), and the logarithmic derivatives
    ∂C_k/C_k, ∂D_k/D_k for ∂ = ∂p, ∂q."""
    dn = 1.0 / (1.0 + dk * d)
    ddn = d * dn
    cn = 1.0 + dk / c
    inv = 1.0 / (c * cn)
    udp = -(udp * dk + dp) * ddn
    ucp = (dp - ucp * dk) * inv
    udq = -(udq * dk + dq) * ddn
    ucq = (dq - ucq * dk) * inv
    return cn, dn, ucp, udp, ucq, udq


@njit(cache=True, error_model="numpy")
def _betainc_joint(a: Any, b: Any, x: Any, upper: bool, f: Any, da: Any, db: Any,
                   dx: Any) -> None:
    """I_x(a, b) (1 - I with `upper`) and its three partials for a, b > 0, a + b <= 170,
    0 < x < 1, by riesz's continued fraction for x < (a+1)/(a+b+2) (else I_x(a, b) =
    1 - I_(1-x)(b, a)) with its p-, q-derivatives alongside, as
    `special._betainc_dab_chunk`. A value that would be 1 - (more than 1/2) is left NaN,
    for the caller to fill."""
    for k in range(a.size):
        ak, bk, xk = np.float64(a[k]), np.float64(b[k]), np.float64(x[k])
        swap = not xk < (ak + 1.0) / (ak + bk + 2.0)
        if swap:
            p, q, y = bk, ak, 1.0 - xk
        else:
            p, q, y = ak, bk, xk
        pq = p + q
        d1 = -pq * y / (p + 1.0)
        c = 1.0 + d1
        ucp = d1 * (1.0 / pq - 1.0 / (p + 1.0)) / c
        ucq = d1 / pq / c
        d, t, udp, udq, lp, lq = 1.0, c, 0.0, 0.0, ucp, ucq
        for m in range(1, 100_000):
            t1, t2 = p + (2 * m - 1), p + 2 * m  # d_2m = m (q - m) y/((p+2m-1)(p+2m))
            dq = m * y / (t1 * t2)
            dk = (q - m) * dq
            dp = -dk * (1.0 / t1 + 1.0 / t2)
            c, d, ucp, udp, ucq, udq = _betainc_cf_step(dk, dp, dq, c, d, ucp, udp, ucq, udq)
            lp += udp + ucp
            lq += udq + ucq
            t *= c * d
            t1, t6, t3 = p + m, pq + m, p + (2 * m + 1)  # d_(2m+1) = -(p+m)(p+q+m) y/(...)
            dk = -(t1 * t6 * y / t2 / t3)
            dp = dk * (1.0 / t1 + 1.0 / t6 - 1.0 / t2 - 1.0 / t3)
            dq = dk / t6
            c, d, ucp, udp, ucq, udq = _betainc_cf_step(dk, dp, dq, c, d, ucp, udp, ucq, udq)
            lp += udp + ucp
            lq += udq + ucq
            delta = c * d
            t *= delta
            if (abs(delta - 1.0) <= _EPS and abs(udp + ucp) <= _EPS * (abs(lp) + 1.0)
                    and abs(udq + ucq) <= _EPS * (abs(lq) + 1.0)):
                break
        lbeta = math.log(math.gamma(p) / math.gamma(pq) * math.gamma(q))
        ly, l1y, common = math.log(y), math.log1p(-y), _psi_positive(pq)
        value = math.exp(p * ly + q * l1y - math.log(p) - lbeta) / t
        gp = value * (ly - 1.0 / p - (_psi_positive(p) - common) - lp)
        gq = value * (l1y - (_psi_positive(q) - common) - lq)
        if swap:  # I = 1 - value
            i_x, ga, gb = math.nan if value > 0.5 else 1.0 - value, -gq, -gp
            i_c = value
        else:
            i_x, ga, gb = value, gp, gq
            i_c = math.nan if value > 0.5 else 1.0 - value
        sign = -1.0 if upper else 1.0
        f[k] = i_c if upper else i_x
        da[k] = sign * ga
        db[k] = sign * gb
        dx[k] = sign * math.exp((ak - 1.0) * math.log(xk) + (bk - 1.0) * math.log1p(-xk)
                                - lbeta)


# -- the pair kernels: f[k] = F_order(x[k]), d[k] = F_order'(x[k]) --------------------------
@njit(cache=True, error_model="numpy")
def _j01(x: Any, order: int, f: Any, d: Any) -> None:
    for k in range(x.size):
        xk = np.float64(x[k])
        ax = abs(xk)
        if ax <= 5.0:
            a0, a1 = _j01_small(ax)
        else:
            w, p0, q0, p1, q1 = _hankel(ax)
            r = math.sqrt(ax)
            if ax < 10.0:
                # (deriving the second pair of cos, sin from the first measured slower)
                xn = ax - _PIO4
                a0 = (p0 * math.cos(xn) - w * q0 * math.sin(xn)) * _SQ2OPI / r
                xn = ax - _THPIO4
                a1 = (p1 * math.cos(xn) - w * q1 * math.sin(xn)) * _SQ2OPI / r
            else:
                c, s = math.cos(ax), math.sin(ax)
                a0 = ((p0 + w * q0) * c + (p0 - w * q0) * s) * _SQ1OPI / r
                a1 = (_SQRT1_2 * (w * q1 - p1) * c + _SQRT1_2 * (p1 + w * q1) * s) * _SQ2OPI / r
        if xk < 0.0:
            a1 = -a1
        if order == 0:
            f[k] = a0
            d[k] = -a1
        else:
            f[k] = a1 if xk != 0.0 else xk  # J1(-0) = -0
            d[k] = a0 - a1 / xk if xk != 0.0 else 0.5


@njit(cache=True, error_model="numpy")
def _y01(x: Any, order: int, f: Any, d: Any) -> None:
    for k in range(x.size):
        xk = np.float64(x[k])
        if xk <= 5.0:
            if xk == 0.0:
                b0 = b1 = -math.inf
            elif xk < 0.0:
                b0 = b1 = math.nan
            else:
                a0, a1 = _j01_small(xk)
                z = xk * xk
                lg = math.log(xk)
                b0 = _polevl(z, _Y0_YP) / _p1evl(z, _Y0_YQ)
                b0 += _TWO_OVER_PI * lg * a0
                b1 = xk * (_polevl(z, _Y1_YP) / _p1evl(z, _Y1_YQ))
                b1 += _TWO_OVER_PI * (a1 * lg - 1.0 / xk)
        else:
            w, p0, q0, p1, q1 = _hankel(xk)
            r = math.sqrt(xk)
            if xk < 10.0:
                xn = xk - _PIO4  # cos, sin of x - 3π/4 from those of x - π/4
                c, s = math.cos(xn), math.sin(xn)
                b0 = (p0 * s + w * q0 * c) * _SQ2OPI / r
                b1 = (w * q1 * s - p1 * c) * _SQ2OPI / r
            else:
                c, s = math.cos(xk), math.sin(xk)
                b0 = ((w * q0 - p0) * c + (p0 + w * q0) * s) * _SQ1OPI / r
                b1 = ((w * q1 - p1) * s - (p1 + w * q1) * c) * _SQ1OPI / r
        if order == 0:
            f[k] = b0
            d[k] = -b1
        else:
            f[k] = b1
            d[k] = b0 - b1 / xk if xk != 0.0 else math.nan  # (-inf - -inf, at ±0 alike)


@njit(cache=True, error_model="numpy")
def _i01(x: Any, order: int, scaled: bool, halves: bool, f: Any, d: Any) -> None:
    for k in range(x.size):
        xk = np.float64(x[k])
        ax = abs(xk)
        if ax <= 8.0:  # e^-x I0 and e^-x I1
            y = ax / 2.0 - 2.0
            e0, e1 = _chbevl2(y, _I01_A)
            e1 *= ax
        else:  # e^-x sqrt(x) I0 and e^-x sqrt(x) I1, then / sqrt(x)
            y = 32.0 / ax - 2.0
            r = math.sqrt(ax)
            e0, e1 = _chbevl2(y, _I01_B)
            e0 /= r
            e1 /= r
        if not scaled:
            if ax <= _MAXLOG or not halves:
                e = math.exp(ax)
                e0 *= e
                e1 *= e
            else:  # e^x overflows before I(x) does (up to x ~ 714): two halves
                e = math.exp(ax / 2.0)
                e0 = e0 * e * e
                e1 = e1 * e * e
        if xk < 0.0:
            e1 = -e1
        if order == 0:
            v, g = e0, e1
        else:
            v, g = e1, (e0 - e1 / xk if xk != 0.0 else 0.5)
        if scaled:  # the factor e^-|x| adds -sign(x) F to the derivative
            g -= (1.0 if xk > 0.0 else (-1.0 if xk < 0.0 else 0.0)) * v
        f[k] = v
        d[k] = g


# Newer SciPy (xsf) evaluates I0, I1 above log(max float) with e^(x/2) twice, older SciPy
# overflows there: follow the installed one, so that values do not depend on the path.
_HALVES = bool(np.isfinite(_sp.i0(710.0)))

# name -> (kernel, order, extra arguments)
_PAIRS: dict[str, tuple[Any, int, tuple[Any, ...]]] = {
    "j0": (_j01, 0, ()), "j1": (_j01, 1, ()), "y0": (_y01, 0, ()), "y1": (_y01, 1, ()),
    "i0": (_i01, 0, (False, _HALVES)), "i1": (_i01, 1, (False, _HALVES)),
    "i0e": (_i01, 0, (True, False)), "i1e": (_i01, 1, (True, False)),
}


def joint(name: str, x: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(F(x), F'(x)) for the fixed-order Bessel function `name` on a real NumPy array, in
    x's dtype; None otherwise (the caller then uses SciPy). The first call per kernel and
    dtype compiles (about a second; then read from Numba's on-disk cache)."""
    if type(x) is not np.ndarray or x.dtype not in (np.float64, np.float32):
        return None
    kernel, order, extra = _PAIRS[name]
    flat = x.reshape(-1)  # a view when x is contiguous
    f = np.empty(flat.shape, x.dtype)
    d = np.empty(flat.shape, x.dtype)
    kernel(flat, order, *extra, f, d)
    return f.reshape(x.shape), d.reshape(x.shape)


def beta_accepts(a: Any, b: Any) -> bool:
    """Whether `beta_partials` computes on (a, b): real NumPy arrays of one shape and dtype,
    every entry positive."""
    return (type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape
            and a.dtype == b.dtype and a.dtype in (np.float64, np.float32)
            and bool(a.min() > 0) and bool(b.min() > 0))  # (NaN fails too)


def beta_partials(a: Any, b: Any, ans: Any, times_ans: bool) -> tuple[Any, Any]:
    """(∂a, ∂b) of log B(a, b), or with `times_ans` of B(a, b) = `ans`, from one pass
    (`beta_accepts(a, b)` holds)."""
    da = np.empty(a.shape, a.dtype)
    db = np.empty(a.shape, a.dtype)
    _beta_partials(a.reshape(-1), b.reshape(-1), np.asarray(ans).reshape(-1), times_ans,
                   da.reshape(-1), db.reshape(-1))
    return da, db


def rgamma(x: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(1/Γ(x), (1/Γ)'(x)) from one pass for a real NumPy `x` with no entry below -170
    (where SciPy's Γ underflows and its 1/Γ is ±inf) and no NaN; None otherwise."""
    if (type(x) is not np.ndarray or x.dtype not in (np.float64, np.float32)
            or not x.min() >= -170):
        return None
    f = np.empty(x.shape, x.dtype)
    d = np.empty(x.shape, x.dtype)
    _rgamma_joint(x.reshape(-1), f.reshape(-1), d.reshape(-1))
    return f, d


def rgamma_derivative(x: Any, ans: Any) -> Any:
    """(1/Γ)'(x) given `ans` = 1/Γ(x), from one pass, for a real NumPy `x`; None otherwise."""
    if type(x) is not np.ndarray or x.dtype not in (np.float64, np.float32):
        return None
    d = np.empty(x.shape, x.dtype)
    _rgamma_derivative(x.reshape(-1), np.asarray(ans).reshape(-1), d.reshape(-1))
    return d


def gammainc(a: Any, x: Any, upper: bool) -> tuple[Any, tuple[Any, Any]] | None:
    """(P(a, x), (∂a P, ∂x P)), or with `upper` the same of Q = 1 - P, from one pass on real
    NumPy arrays of one shape and dtype with 0 < a <= 20 (beyond, Cephes' igam switches to
    Temme's expansion) and 0 < x < inf; None otherwise (SciPy and NumPy's chunked series)."""
    if (type(a) is not np.ndarray or type(x) is not np.ndarray or a.shape != x.shape
            or a.dtype != x.dtype or a.dtype not in (np.float64, np.float32)
            or not (a.min() > 0 and a.max() <= 20 and x.min() > 0 and x.max() < np.inf)):
        return None
    f, da, dx = (np.empty(a.shape, a.dtype) for _ in range(3))
    _gammainc_joint(a.reshape(-1), x.reshape(-1), upper, f.reshape(-1), da.reshape(-1),
                    dx.reshape(-1))
    redo = np.isnan(f)  # where 1 - (the other one) would cancel: SciPy's value
    if redo.any():
        f[redo] = (_sp.gammaincc if upper else _sp.gammainc)(a[redo], x[redo])
    return f, (da, dx)


def betainc(a: Any, b: Any, x: Any, upper: bool) -> tuple[Any, tuple[Any, Any, Any]] | None:
    """(I_x(a, b), (∂a, ∂b, ∂x)), or with `upper` the same of 1 - I, from one pass on real
    NumPy arrays of one shape and dtype with a, b > 0, a + b <= 170 (B(a, b) from Γ
    without overflow) and 0 < x < 1; None otherwise (SciPy and NumPy's chunked fraction)."""
    if (type(a) is not np.ndarray or type(b) is not np.ndarray or type(x) is not np.ndarray
            or not a.shape == b.shape == x.shape or not a.dtype == b.dtype == x.dtype
            or a.dtype not in (np.float64, np.float32)
            or not (a.min() > 0 and b.min() > 0 and a.max() + b.max() <= 170
                    and x.min() > 0 and x.max() < 1)):
        return None
    f, da, db, dx = (np.empty(a.shape, a.dtype) for _ in range(4))
    _betainc_joint(a.reshape(-1), b.reshape(-1), x.reshape(-1), upper, f.reshape(-1),
                   da.reshape(-1), db.reshape(-1), dx.reshape(-1))
    redo = np.isnan(f)  # where 1 - (the other one) would cancel: SciPy's value
    if redo.any():
        f[redo] = (_sp.betaincc if upper else _sp.betainc)(a[redo], b[redo], x[redo])
    return f, (da, db, dx)


# -- I_v, K_v of real order: Temme's method, as Cephes' ikv_temme (from Boost, X. Zhang) ----
# For x > 0 and v = n + u (n = round |v|, |u| <= 1/2): K_u, K_(u+1) by Temme's series
# (x <= 2) or Steed's continued fraction CF2 (x > 2), forward recurrence to K_v, K_(v+1);
# f = I_(v+1)/I_v by CF1 (modified Lentz) and I_v from the Wronskian
# I_v K_(v+1) + I_(v+1) K_v = 1/x. The derivatives come from the same quantities:
#     I_v' = I_v (f + v/x),   K_v' = (v/x) K_v - K_(v+1),
# and for v < 0 (not an integer) I_(-v) = I_v + (2/π) sin(πv) K_v, K_(-v) = K_v.
_IKV_MAXITER = 1_000_000  # (CF1 takes O(x) steps: ~1,000 at x = 700)
# ζ(3)/3, ζ(5)/5, ..., ζ(19)/19: the odd part of log Γ(1+u) = -γu - Σ_k odd ζ(k)/k u^k + ...
_ZETA_ODD = np.array([float(_sp.zeta(k)) / k for k in range(19, 2, -2)])


@njit(inline="always", cache=True, error_model="numpy")
def _temme_ik_series(u: float, x: float) -> tuple[float, float]:
    """K_u(x), K_(u+1)(x) for 0 < x <= 2, |u| <= 1/2."""
    gp = math.gamma(u + 1.0) - 1.0
    gm = math.gamma(1.0 - u) - 1.0
    a = math.log(x / 2.0)
    b = math.exp(u * a)
    sigma = -a * u
    c = 1.0 if abs(u) < _EPS * 2.0 else math.sin(math.pi * u) / (u * math.pi)
    d = 1.0 if abs(sigma) < _EPS * 2.0 else math.sinh(sigma) / sigma
    if abs(u) < 0.1:  # (Γ(1+u) - Γ(1-u))/(2u) = e^even sinh(odd)/u without cancellation
        u2 = u * u
        odd = u * (-_EULER - u2 * _polevl(u2, _ZETA_ODD))
        even = 0.5 * (math.lgamma(1.0 + u) + math.lgamma(1.0 - u))
        gamma1 = (-_EULER if u == 0.0 else math.exp(even) * math.sinh(odd) / u) * c
    else:
        gamma1 = (0.5 / u) * (gp - gm) * c
    gamma2 = (2.0 + gp + gm) * c / 2.0
    p = (gp + 1.0) / (2.0 * b)
    q = (1.0 + gm) * b / 2.0
    f = (math.cosh(sigma) * gamma1 + d * (-a) * gamma2) / c
    coef, s, s1 = 1.0, f, p
    for k in range(1, _IKV_MAXITER):
        f = (k * f + p + q) / (k * k - u * u)
        p /= k - u
        q /= k + u
        h = p - k * f
        coef *= x * x / (4 * k)
        s += coef * f
        s1 += coef * h
        if abs(coef * f) < abs(s) * _EPS * 2.0:
            break
    return s, 2.0 * s1 / x


@njit(inline="always", cache=True, error_model="numpy")
def _cf2_ik(u: float, x: float) -> tuple[float, float]:
    """K_u(x), K_(u+1)(x) for x > 1 by Steed's algorithm (Thompson and Barnett)."""
    a = u * u - 0.25
    b = 2.0 * (x + 1.0)
    d = 1.0 / b
    f = delta = d
    prev, current = 0.0, 1.0
    q_sum = c = -a
    s = 1.0 + q_sum * delta
    for k in range(2, _IKV_MAXITER):
        a -= 2 * (k - 1)
        b += 2.0
        d = 1.0 / (b + a * d)
        delta *= b * d - 1.0
        f += delta
        q = (prev - (b - 2.0) * current) / a
        prev = current
        current = q
        c *= -a / k
        q_sum += c * q
        s += q_sum * delta
        if abs(q_sum * delta) < abs(s) * _EPS * 2.0:
            break
    kv = math.sqrt(math.pi / (2.0 * x)) * math.exp(-x) / s
    return kv, kv * (0.5 + u + x + (u * u - 0.25) * f) / x


@njit(inline="always", cache=True, error_model="numpy")
def _cf1_ik(v: float, x: float) -> float:
    """I_(v+1)(x)/I_v(x) by the modified Lentz method (A&S 9.1.73)."""
    tiny = 1.0 / math.sqrt(1.7976931348623157e308)
    c = f = tiny
    d = 0.0
    for k in range(1, _IKV_MAXITER):
        b = 2.0 * (v + k) / x
        c = b + 1.0 / c
        d = b + d
        if c == 0.0:
            c = tiny
        if d == 0.0:
            d = tiny
        d = 1.0 / d
        delta = c * d
        f *= delta
        if abs(delta - 1.0) <= 4.0 * _EPS:
            break
    return f


@njit(cache=True, error_model="numpy")
def _ikv_joint(v: Any, v_step: int, x: Any, want_i: bool, f: Any, d: Any) -> None:
    """f[k], d[k] = I_v(x), I_v'(x) (`want_i`) or K_v(x), K_v'(x), v = v[k * v_step], for
    x > 0 and finite real v."""
    for k in range(x.size):
        vk, xk = np.float64(v[k * v_step]), np.float64(x[k])
        if want_i and vk < 0.0 and vk == math.floor(vk):
            vk = -vk  # I_(-n) = I_n
        nu = abs(vk)
        n = int(math.floor(nu + 0.5))
        u = nu - n
        if xk <= 2.0:
            ku, ku1 = _temme_ik_series(u, xk)
        else:
            ku, ku1 = _cf2_ik(u, xk)
        for j in range(1, n + 1):  # forward recurrence K_(u+j+1) = 2(u+j)/x K_(u+j) + K_(u+j-1)
            ku, ku1 = ku1, 2.0 * (u + j) * ku1 / xk + ku
        kd = nu / xk * ku - ku1
        if not want_i:
            f[k] = ku
            d[k] = kd
            continue
        fv = _cf1_ik(nu, xk)
        iv = 1.0 / xk / (ku * fv + ku1)
        idv = iv * (fv + nu / xk)
        if vk < 0.0:  # reflection: (2/π) sin(πν) K_ν, sin(π(n + u)) = (-1)^n sin(πu)
            s = (2.0 / math.pi) * math.sin(math.pi * u) * (-1.0 if n % 2 else 1.0)
            iv += s * ku
            idv += s * kd
        f[k] = iv
        d[k] = idv


def ikv(name: str, v: Any, x: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(F_v(x), F_v'(x)) for F = iv or kv from one pass, on a real NumPy `x` with
    0 < x <= 700 (kv: 690; beyond, SciPy's kv flushes its values ~1e-304 to 0) and a real
    order `v` (a scalar, or an array of x's dtype that broadcasts to x's shape) with
    |v| <= 50; None otherwise, or where a result is not finite (overflow in the
    recurrences: SciPy then)."""
    if type(x) is not np.ndarray or x.dtype not in (np.float64, np.float32):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        vs = np.array([v], np.float64)
        v_step = 0
    elif (type(v) is np.ndarray and v.dtype == x.dtype
          and np.broadcast_shapes(v.shape, x.shape) == x.shape):
        if v.size == 1:
            vs, v_step = v.reshape(1), 0
        else:
            vs, v_step = np.broadcast_to(v, x.shape).reshape(-1), 1  # (copies if broadcast)
    else:
        return None
    if not (x.min() > 0 and x.max() <= (700 if name == "iv" else 690)
            and np.abs(vs).max() <= 50):  # (NaN fails)
        return None
    f = np.empty(x.shape, x.dtype)
    d = np.empty(x.shape, x.dtype)
    _ikv_joint(vs, v_step, x.reshape(-1), name == "iv", f.reshape(-1), d.reshape(-1))
    if not (np.isfinite(f).all() and np.isfinite(d).all()):
        return None
    return f, d
