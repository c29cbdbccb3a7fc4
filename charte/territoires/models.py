"""The territorial referential: INSEE codes for régions, départements, communes, SIREN for EPCI,
ANCT codes for the quartiers prioritaires (QPV) of both generations."""

from django.db import models
from django.db.models import Q

# Visibility (`visible_to(scope)`): `scope` is a `charte.comptes.scoping.Scope`, only read through its
# attributes, so this lowest app imports nothing of the accounts app. A company sees the départements where it
# is located or has a convention: those facts belong to higher apps and are reached through the reverse
# relations they declare on the referential (communes__companies, conventions...), never by importing them.


def _below_departement(scope):
    """A partner attached to an EPCI or to communes: its territory is those communes, not départements."""
    return bool(getattr(scope, "below_departement", False))


def _local_communes(scope):
    """The communes of a partner attached below the département: those of its EPCI and those it lists."""
    return Commune.objects.filter(Q(epci_id__in=scope.epci_ids) | Q(pk__in=scope.commune_ids))


class RegionQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """The régions of the départements a scope sees."""
        if scope.is_national:
            return self.all()
        return self.filter(pk__in=Departement.objects.visible_to(scope).values("region_id"))


class Region(models.Model):
    code = models.CharField("code INSEE", max_length=2, unique=True)
    name = models.CharField("nom", max_length=100)

    objects = RegionQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = "région"

    def __str__(self):
        return self.name


class DepartementQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """National: all. Préfecture, club, partner: the départements of its organisation. Company: those of its
        head office, of its establishments and of its conventions."""
        qs = self.select_related("region")
        if scope.is_national:
            return qs
        if scope.has_territory:
            return qs.filter(pk__in=scope.departement_ids)
        if scope.is_company and scope.company_id:
            located = Departement.objects.filter(communes__companies=scope.company_id).values("pk")
            established = Departement.objects.filter(communes__establishments__company=scope.company_id).values("pk")
            covenanted = Departement.objects.filter(conventions__companies=scope.company_id).values("pk")
            return qs.filter(Q(pk__in=located) | Q(pk__in=established) | Q(pk__in=covenanted))
        return qs.none()


class Departement(models.Model):
    # 01..95, 2A, 2B, 971..976
    code = models.CharField("code INSEE", max_length=3, unique=True)
    name = models.CharField("nom", max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="departements", verbose_name="région")

    objects = DepartementQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = "département"

    def __str__(self):
        return f"{self.name} ({self.code})"


class EPCIQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """The EPCI of the communes a scope sees (and, for a partner, the EPCI it is attached to)."""
        if scope.is_national:
            return self.all()
        if _below_departement(scope):
            return self.filter(Q(pk__in=scope.epci_ids) | Q(pk__in=_local_communes(scope).values("epci_id")))
        return self.filter(pk__in=Commune.objects.visible_to(scope).values("epci_id"))


class EPCI(models.Model):
    siren = models.CharField("SIREN", max_length=9, unique=True)
    name = models.CharField("nom", max_length=200)

    objects = EPCIQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "EPCI"
        verbose_name_plural = "EPCI"

    def __str__(self):
        return self.name


class CommuneQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """The communes of the départements a scope sees; for a partner attached to an EPCI or communes, those."""
        if scope.is_national:
            return self.all()
        if _below_departement(scope):
            return self.filter(pk__in=_local_communes(scope).values("pk"))
        return self.filter(departement__in=Departement.objects.visible_to(scope).values("pk"))


class Commune(models.Model):
    code = models.CharField("code INSEE", max_length=5, unique=True)
    name = models.CharField("nom", max_length=150)
    departement = models.ForeignKey(Departement, on_delete=models.PROTECT, related_name="communes", verbose_name="département")
    epci = models.ForeignKey(EPCI, on_delete=models.SET_NULL, null=True, blank=True, related_name="communes", verbose_name="EPCI")

    objects = CommuneQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "commune"

    def __str__(self):
        return f"{self.name} ({self.code})"


class QPVQuerySet(models.QuerySet):
    def generation(self, year):
        return self.filter(generation=year)

    def in_departements(self, departements):
        return self.filter(departement__in=departements)

    def visible_to(self, scope):
        """The QPV of the départements a scope sees. A partner attached to an EPCI or communes: the QPV of that
        EPCI (the referential's link, or one of the QPV's communes in the territory)."""
        if scope.is_national:
            return self.all()
        if scope.kind is None:
            return self.none()
        if _below_departement(scope):
            in_communes = QPV.communes.through.objects.filter(commune__in=_local_communes(scope).values("pk"))
            return self.filter(Q(epci_id__in=scope.epci_ids) | Q(pk__in=in_communes.values("qpv_id")))
        return self.filter(departement__in=Departement.objects.visible_to(scope).values("pk"))


class QPV(models.Model):
    class Generation(models.IntegerChoices):
        G2015 = 2015, "2015 (QP…)"
        G2024 = 2024, "2024 (QN…)"

    code = models.CharField("code", max_length=8, unique=True)
    name = models.CharField("nom", max_length=200)
    generation = models.PositiveSmallIntegerField("génération", choices=Generation.choices)
    departement = models.ForeignKey(Departement, on_delete=models.PROTECT, related_name="qpvs", verbose_name="département")
    communes = models.ManyToManyField(Commune, related_name="qpvs", verbose_name="communes")
    epci = models.ForeignKey(EPCI, on_delete=models.SET_NULL, null=True, blank=True, related_name="qpvs", verbose_name="EPCI")
    population = models.PositiveIntegerField("population municipale", null=True, blank=True)
    successors = models.ManyToManyField(
        "self",
        through="QPVCorrespondence",
        through_fields=("qpv_2015", "qpv_2024"),
        symmetrical=False,
        related_name="predecessors",
        verbose_name="QPV 2024 correspondants",
    )
    updated_at = models.DateTimeField("mis à jour le", auto_now=True)

    objects = QPVQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = "quartier prioritaire (QPV)"
        verbose_name_plural = "quartiers prioritaires (QPV)"
        constraints = [
            # The code tells the generation: QP + 6 digits (2015), QN + 5 characters + a letter (2024).
            models.CheckConstraint(
                condition=(Q(generation=2015, code__startswith="QP") | Q(generation=2024, code__startswith="QN")),
                name="qpv_code_matches_generation",
                violation_error_message="Le code du QPV ne correspond pas à sa génération (QP pour 2015, QN pour 2024).",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"


class QPVCorrespondence(models.Model):
    """ANCT's 2015 <-> 2024 correspondence: a 2015 QPV may map onto several 2024 ones and vice versa."""

    qpv_2015 = models.ForeignKey(QPV, on_delete=models.CASCADE, related_name="correspondences_to_2024", verbose_name="QPV 2015")
    qpv_2024 = models.ForeignKey(QPV, on_delete=models.CASCADE, related_name="correspondences_from_2015", verbose_name="QPV 2024")

    class Meta:
        verbose_name = "correspondance QPV 2015 / 2024"
        verbose_name_plural = "correspondances QPV 2015 / 2024"
        constraints = [
            models.UniqueConstraint(fields=["qpv_2015", "qpv_2024"], name="unique_qpv_correspondence"),
        ]

    def __str__(self):
        return f"{self.qpv_2015.code} → {self.qpv_2024.code}"
